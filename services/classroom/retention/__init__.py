"""Retention of seed 002: chat 30 days, session logs 90 days, ended sessions 180 days, published
outbox rows and inbox entries 7 days; policies on megacity.retention (`service.run_retention`)."""
