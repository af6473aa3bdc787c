"""Student pages on the app. host: my exams, taking an exam, a result, my parent-link requests."""
