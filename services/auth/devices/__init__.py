"""My sessions: the signed-in devices of the caller, and signing one out."""
