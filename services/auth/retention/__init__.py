"""Retention of auth's audit tables (one year) and its outbox/inbox (`service.run_retention`)."""
