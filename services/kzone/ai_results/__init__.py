"""AI job results: `ai.result.*` from the inference service, stored in `kzone.kzone_ai_results`.
Fed by events (events.py), not HTTP: the job endpoints (`ai_jobs`) read what this stores."""
