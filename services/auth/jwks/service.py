"""The public keys every service verifies access tokens with."""
from __future__ import annotations

from typing import Any

from services.auth.state import AuthState


async def published_keys(st: AuthState) -> dict[str, Any]:
    """The JWKS: the active key first, then the next key, then passive keys."""
    return await st.keyring.jwks()
