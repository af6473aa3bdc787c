"""A session's teaching signal after the fact: per-card accuracy and misconceptions, per-participant
correctness (live and homework), as JSON and as CSV/xlsx exports — read from PostgreSQL, the
record, never from the live Redis tallies."""
