"""Auth's own token verifier: the shared TokenVerifier (keys read from auth's key table, not
over HTTP), plus a small in-process cache of verified signatures and the option to fetch extra
Redis keys in the same round trip as the revocation check.

The cache maps the exact token string to its verified claims until the token's `exp`: the same
bytes always verify the same way, so this skips only repeated Ed25519 work. Revocation is never
cached — every request still asks Redis about its `jti` and `sid`.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from megacity.auth.tokens import Principal
from megacity.auth.verifier import JwksCache, TokenVerifier, denied_session_key, deny_key
from megacity.errors import AppError
from megacity.redis_keys import RedisKeys


class CachingTokenVerifier(TokenVerifier):
    def __init__(self, jwks: JwksCache, *, max_entries: int = 10_000) -> None:
        super().__init__(jwks)
        self._verified: OrderedDict[str, Principal] = OrderedDict()
        self._max = max_entries

    async def principal(self, token: str) -> Principal:
        """Signature and claims (cached until expiry), no revocation check."""
        hit = self._verified.get(token)
        if hit is not None:
            if hit.exp > time.time():
                return hit
            del self._verified[token]
            raise AppError(401, "auth.token_expired", "access token expired", {"www_authenticate": "Bearer"})
        principal = self.decode(token, await self.key_for(token))
        self._verified[token] = principal
        if len(self._verified) > self._max:
            self._verified.popitem(last=False)
        return principal

    async def verify_with(self, token: str, redis: Any, keys: RedisKeys,
                          extra: Callable[[Principal], list[str]] | None = None) -> tuple[Principal, list[Any]]:
        """Verify, checking revocation and reading `extra(principal)` keys in one MGET."""
        principal = await self.principal(token)
        checks = [deny_key(keys, principal.zone_id, principal.jti)]
        if principal.sid:
            checks.append(denied_session_key(keys, principal.zone_id, principal.sid))
        wanted = extra(principal) if extra else []
        values = await redis.mget(checks + wanted)
        if any(v is not None for v in values[:len(checks)]):
            raise AppError(401, "auth.token_revoked", "access token has been revoked", {"www_authenticate": "Bearer"})
        return principal, values[len(checks):]

    async def verify(self, token: str, redis: Any, keys: RedisKeys) -> Principal:
        return (await self.verify_with(token, redis, keys))[0]
