"""Teacher and parent records of an org (name, email, phone, optional auth user; soft delete):
`/api/v1/rosters/teachers` and `/api/v1/rosters/parents`, one shape, one set of rules."""
