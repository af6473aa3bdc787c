"""AI jobs (`kzone.kzone_ai_jobs`): submit voice analysis, pose detection and tutor feedback; read
a job and its result; cancel. Results arrive as events (`ai_results`)."""
