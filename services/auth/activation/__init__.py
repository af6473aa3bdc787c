"""Accounts provisioned from school rosters (gRPC, for tenant) and their one-time activation
codes (`POST /api/v1/auth/activate`)."""
