"""Retention of seed 002: chat 30 days, session logs 90 days, ended sessions 180 days, published
outbox rows and inbox entries 7 days; one replica at a time (`service.run_retention`)."""
