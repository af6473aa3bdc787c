"""HMAC-signed object URLs for the filesystem backend, served by kzone itself.

`/api/v1/kzone/objects/<key>?expires=<unix>&signature=<b64url HMAC-SHA256("GET\\n<key>\\n<expires>")>`:
changing the key, the expiry or the signature breaks it; after `expires` it is refused.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote

OBJECT_PATH = "/api/v1/kzone/objects/"


def signature(secret: bytes, key: str, expires: int) -> str:
    mac = hmac.new(secret, f"GET\n{key}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def signed_url(secret: bytes, key: str, *, base_url: str, expires_in: int, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + expires_in)
    return (f"{base_url.rstrip('/')}{OBJECT_PATH}{quote(key)}"
            f"?expires={expires}&signature={signature(secret, key, expires)}")


def verify(secret: bytes, key: str, expires: str | None, sig: str | None, *, now: float | None = None) -> str | None:
    """None when valid, else why not: "invalid" or "expired"."""
    if not expires or not sig or not expires.isdigit():
        return "invalid"
    if not hmac.compare_digest(signature(secret, key, int(expires)), sig):
        return "invalid"
    if int(expires) < (time.time() if now is None else now):
        return "expired"
    return None
