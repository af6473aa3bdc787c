"""Password reset by email: request a link (no account enumeration), confirm it with a new password."""
