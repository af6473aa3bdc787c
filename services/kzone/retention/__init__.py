"""Retention of K-Zone's AI jobs: results, jobs and their uploaded media (with the objects in
storage) after `KZONE_AI_JOB_RETENTION_DAYS`, per zone overridable (`service.run_retention`)."""
