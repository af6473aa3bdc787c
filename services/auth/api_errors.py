"""Problem entries (`megacity.http_app.problems`) that several auth features document."""
from __future__ import annotations

UNAUTHORIZED = (401, "auth.token_invalid", "Missing, invalid, expired or revoked access token")
ZONE_MISMATCH = (403, "auth.zone_mismatch", "The token belongs to another zone than this host")
UNKNOWN_HOST = (404, "zone.unknown_host", "No zone serves this host")
