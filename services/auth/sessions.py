"""Sessions and their refresh-token families (`auth.sessions`, `auth.refresh_tokens`).

A session is one login; its refresh tokens form a family. Every refresh rotates: the presented
token is marked rotated and a new one issued in the same session. Presenting a rotated token
again means a copy was stolen (or replayed), so the whole session is revoked. Only SHA-256
hashes of refresh tokens are stored; the token itself is 256 random bits. The rotation rule is
the credentials feature's (`credentials/service.py`); this module holds what several features
share: creating a session (login, MFA), revoking one or all (logout, password and role changes,
membership events).

Reuse grace: a client retry (the answer was lost) or a second tab presents the token it already
rotated. For `AUTH_REFRESH_REUSE_GRACE_SECONDS` after a rotation that is not theft: `ReuseGrace`
keeps the pair the rotation issued (Redis, TTL = the window, keyed by the presented token's hash,
the value Fernet-encrypted) and the same presentation gets the identical pair back. Two
presentations at once are serialised by the token's row lock (`credentials/queries.py`): the
pair is stored before the first commits, so the second, once the lock is released, finds it.
After the window the key is gone and reuse revokes the family as before (Auth0's "reuse
interval", Okta's "grace period").
"""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.pii import PiiCipher
from megacity.redis_keys import RedisKeys
from services.auth.client_info import ClientInfo

PREFIX = "rt_"


def new_refresh_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class SessionInfo:
    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID | None
    user_id: uuid.UUID
    role: str
    mfa_verified: bool


async def create(session: AsyncSession, *, zone_id: int, user_id: uuid.UUID, org_id: uuid.UUID | None, role: str,
                 mfa_verified: bool, client: ClientInfo | None, ttl_days: int) -> tuple[SessionInfo, str]:
    """A new session with its first refresh token (returned in clear, stored hashed)."""
    sid = (await session.execute(text(
        "INSERT INTO auth.sessions (zone_id, org_id, user_id, role, mfa_verified, address, user_agent, expires_at)"
        " VALUES (:z, :o, :u, :r, :m, :a, :ua, now() + make_interval(days => :d)) RETURNING id"),
        {"z": zone_id, "o": org_id, "u": user_id, "r": role, "m": mfa_verified,
         "a": client.address if client else None, "ua": client.user_agent if client else None,
         "d": ttl_days})).scalar_one()
    info = SessionInfo(sid, zone_id, org_id, user_id, role, mfa_verified)
    return info, await add_token(session, info, ttl_days)


async def add_token(session: AsyncSession, info: SessionInfo, ttl_days: int) -> str:
    token = new_refresh_token()
    await session.execute(text(
        "INSERT INTO auth.refresh_tokens (token_hash, zone_id, session_id, user_id, expires_at)"
        " VALUES (:h, :z, :s, :u, now() + make_interval(days => :d))"),
        {"h": token_hash(token), "z": info.zone_id, "s": info.id, "u": info.user_id, "d": ttl_days})
    return token


async def revoke(session: AsyncSession, sid: uuid.UUID, reason: str) -> bool:
    result = await session.execute(text(
        "UPDATE auth.sessions SET revoked_at = now(), revoked_reason = :r WHERE id = :id AND revoked_at IS NULL"),
        {"id": sid, "r": reason})
    return result.rowcount == 1  # type: ignore[attr-defined]  # CursorResult of an UPDATE


async def revoke_all(session: AsyncSession, zone_id: int, user_id: uuid.UUID, reason: str) -> list[str]:
    """Revoke every live session of a user; returns their ids (for the Redis denylist and the event)."""
    rows = await session.execute(text(
        "UPDATE auth.sessions SET revoked_at = now(), revoked_reason = :r"
        " WHERE zone_id = :z AND user_id = :u AND revoked_at IS NULL RETURNING id"),
        {"z": zone_id, "u": user_id, "r": reason})
    return [str(r.id) for r in rows]


# -- reuse grace ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class IssuedPair:
    """What one rotation handed out, kept for the grace window (access + refresh, same session)."""

    access_token: str
    refresh_token: str
    session: SessionInfo


class ReuseGrace:
    """The pairs rotations issued, by presented token, for `seconds` (0: no grace, reuse always
    revokes). Values are encrypted: a Redis dump must not hand out live tokens."""

    def __init__(self, redis: Any, keys: RedisKeys, cipher: PiiCipher, seconds: int) -> None:
        self.redis, self.keys, self.cipher, self.seconds = redis, keys, cipher, seconds

    def key(self, zone_id: int, presented: str) -> str:
        return self.keys.zone(zone_id, "auth", "refresh_grace", token_hash(presented).hex())

    async def remember(self, zone_id: int, presented: str, pair: IssuedPair) -> None:
        """Call inside the rotating transaction, before it commits (see the module docstring)."""
        if self.seconds <= 0:
            return
        info = pair.session
        value = json.dumps({"a": pair.access_token, "r": pair.refresh_token, "sid": str(info.id), "z": info.zone_id,
                            "o": str(info.org_id) if info.org_id else None, "u": str(info.user_id),
                            "role": info.role, "mfa": info.mfa_verified})
        await self.redis.set(self.key(zone_id, presented), self.cipher.encrypt(value), ex=self.seconds)

    async def recall(self, zone_id: int, presented: str) -> IssuedPair | None:
        """The pair issued for `presented` if its rotation is inside the window, else None."""
        if self.seconds <= 0:
            return None
        raw = await self.redis.get(self.key(zone_id, presented))
        if raw is None:
            return None
        v = json.loads(self.cipher.decrypt(raw.decode() if isinstance(raw, bytes) else raw))
        info = SessionInfo(uuid.UUID(v["sid"]), int(v["z"]), uuid.UUID(v["o"]) if v["o"] else None,
                           uuid.UUID(v["u"]), v["role"], bool(v["mfa"]))
        return IssuedPair(v["a"], v["r"], info)
