"""Classroom: live class sessions (seed 002) — join by code or QR, moderated chat, problem cards."""
