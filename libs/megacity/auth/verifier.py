"""Local token verification: no network hop to auth per request.

- The JWKS is cached; a token with an unknown `kid` triggers one refetch (at most one per
  `min_refetch_seconds`, so random kids cannot turn into a flood of requests to auth).
- Only EdDSA is accepted: `alg=none`, HS256-with-the-public-key and friends fail before any
  key is used.
- Revocation lives in Redis (written by auth, announced as auth.* events): a denied `jti`
  (logout) and a denied session `sid` (session or family revoked, password or role change).
  Services read it through their `TrackedCache` (megacity.redis_cache): the answer is kept in
  process and Redis announces every change to it, so the common case costs no round trip
  and a revocation still takes effect everywhere at once.
"""
from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt

from megacity.auth.tokens import ACCESS_TOKEN_TTL_SECONDS, ALGORITHM, ISSUER, REQUIRED_CLAIMS, Principal
from megacity.errors import AppError, dependency_unavailable
from megacity.redis_cache import TrackedCache
from megacity.redis_keys import RedisKeys

JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


def _unauthorized(code: str, detail: str) -> AppError:
    return AppError(401, code, detail, {"www_authenticate": "Bearer"})


def http_jwks_fetcher(url: str, timeout: float = 2.0) -> JwksFetcher:
    async def fetch() -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                resp = await client.get(url)
                resp.raise_for_status()
                jwks: dict[str, Any] = resp.json()
                return jwks
        except httpx.HTTPError as exc:
            raise dependency_unavailable("auth") from exc

    return fetch


class JwksCache:
    def __init__(self, fetch: JwksFetcher, *, ttl_seconds: float = 600, min_refetch_seconds: float = 5) -> None:
        self._fetch = fetch
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self._min_refetch and self._keys:
                return
            jwks = await self._fetch()
            self._keys = {k["kid"]: jwt.PyJWK(k, algorithm=ALGORITHM) for k in jwks.get("keys", [])
                          if k.get("kid") and k.get("alg", ALGORITHM) == ALGORITHM}
            self._fetched_at = time.monotonic()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if not self._keys or time.monotonic() - self._fetched_at > self._ttl:
            await self._refresh()
        if kid not in self._keys and time.monotonic() - self._fetched_at >= self._min_refetch:
            await self._refresh()
        return self._keys.get(kid)

    def cached(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)

    def still_published(self, kid: str) -> bool:
        """Whether `kid` is in a JWKS that is not past its TTL (no I/O): a token remembered as
        verified is only trusted again while its key is still published."""
        return kid in self._keys and time.monotonic() - self._fetched_at <= self._ttl


DENIED_JTI = ("auth", "denied_jti")
DENIED_SID = ("auth", "denied_sid")
REVOCATION_KEY_PARTS = (DENIED_JTI, DENIED_SID)


def deny_key(keys: RedisKeys, zone_id: int, jti: str) -> str:
    return keys.zone(zone_id, *DENIED_JTI, jti)


def denied_session_key(keys: RedisKeys, zone_id: int, sid: str) -> str:
    return keys.zone(zone_id, *DENIED_SID, sid)


@functools.lru_cache(maxsize=20_000)
def revocation_keys(keys: RedisKeys, zone_id: int, jti: str, sid: str | None) -> list[str]:
    """The denylist keys one token is checked against (memoised: a token is checked on every
    request it makes, and building checked keys is not free). Callers must not mutate the list."""
    return [deny_key(keys, zone_id, jti), *([denied_session_key(keys, zone_id, sid)] if sid else [])]


class TokenVerifier:
    """Verifies access tokens. A token whose signature and claims passed once is remembered
    (token string -> claims, until its `exp`): the same bytes always verify the same way, so
    repeat requests skip the Ed25519 work. Revocation is never remembered here: every call
    asks the denylist (through the service's TrackedCache)."""

    def __init__(self, jwks: JwksCache, *, issuer: str = ISSUER, leeway: int = 0, max_cached: int = 10_000) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.leeway = leeway
        self._verified: dict[str, tuple[Principal, str]] = {}  # token -> (claims, kid)
        self._max_cached = max_cached

    def decode(self, token: str, key: jwt.PyJWK) -> Principal:
        """Signature and claims only (in-process, no I/O)."""
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=self.issuer, leeway=self.leeway,
                                options={"require": REQUIRED_CLAIMS})
            return Principal.from_claims(claims)
        except jwt.ExpiredSignatureError:
            raise _unauthorized("auth.token_expired", "access token expired") from None
        except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
            raise _unauthorized("auth.token_invalid", "access token is invalid") from None

    async def key_for(self, token: str) -> jwt.PyJWK:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _unauthorized("auth.token_invalid", "access token is malformed") from None
        if header.get("alg") != ALGORITHM:
            raise _unauthorized("auth.token_invalid", "access token algorithm not accepted")
        kid = header.get("kid")
        key = await self.jwks.key(kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise _unauthorized("auth.unknown_key", "access token signed by an unknown key")
        return key

    async def principal(self, token: str) -> Principal:
        """Algorithm, key, signature and claims; no revocation check. Remembered until expiry,
        and only while the signing key is still published (a key withdrawn from the JWKS stops
        its tokens at the next refresh, as without the memo)."""
        hit = self._verified.get(token)
        if hit is not None:
            principal, kid = hit
            if principal.exp + self.leeway <= time.time():
                del self._verified[token]
                raise _unauthorized("auth.token_expired", "access token expired")
            if self.jwks.still_published(kid):
                return principal
            del self._verified[token]
        key = await self.key_for(token)
        principal = self.decode(token, key)
        if len(self._verified) >= self._max_cached:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, key.key_id or "")
        return principal

    async def verify_with(self, token: str, reads: Any, keys: RedisKeys,
                          extra: Callable[[Principal], list[str]] | None = None) -> tuple[Principal, list[Any]]:
        """`verify`, also reading `extra(principal)` keys in the same `mget` (e.g. auth's cached
        profile for /users/me)."""
        principal = await self.principal(token)
        checks = revocation_keys(keys, principal.zone_id, principal.jti, principal.sid)
        values = await reads.mget([*checks, *extra(principal)] if extra else checks)
        if any(v is not None for v in values[:len(checks)]):
            raise _unauthorized("auth.token_revoked", "access token has been revoked")
        return principal, values[len(checks):]

    async def verify(self, token: str, reads: Any, keys: RedisKeys) -> Principal:
        """Full check: signature and claims, then the revocation state. `reads` is anything with
        `mget`: the service's TrackedCache (`Resources.cached_reads`) or a Redis client."""
        return (await self.verify_with(token, reads, keys))[0]


async def deny_token(redis: Any, keys: RedisKeys, principal: Principal, cache: TrackedCache | None = None) -> None:
    """Deny one access token until it would have expired anyway."""
    key = deny_key(keys, principal.zone_id, principal.jti)
    await redis.set(key, "1", ex=max(1, principal.exp - int(time.time())))
    if cache is not None:
        cache.forget([key])


async def deny_sessions(redis: Any, keys: RedisKeys, zone_id: int, sids: list[str],
                        cache: TrackedCache | None = None) -> None:
    """Refuse every access token of these sessions for as long as one could still be valid."""
    if sids:
        denied = [denied_session_key(keys, zone_id, sid) for sid in sids]
        async with redis.pipeline(transaction=False) as pipe:
            for key in denied:
                pipe.set(key, "1", ex=ACCESS_TOKEN_TTL_SECONDS + 60)
            await pipe.execute()
        if cache is not None:
            cache.forget(denied)
