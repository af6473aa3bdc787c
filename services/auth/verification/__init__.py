"""Email verification: a link mailed at sign-up (and on request), confirmed by its token."""
