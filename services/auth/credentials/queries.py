"""SQL of the credentials feature: using a refresh token (read under row locks, mark it rotated,
extend its session) and finding the session of one. Accounts are `services.auth.accounts`;
creating and revoking sessions is `services.auth.sessions`."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.accounts import Locale
from services.auth.sessions import SessionInfo, token_hash


@dataclass(frozen=True)
class RefreshTokenRow:
    """A refresh token, its session and its user's status and language, as one locked read."""

    session: SessionInfo
    rotated_at: dt.datetime | None
    expired: bool
    session_revoked_at: dt.datetime | None
    session_expired: bool
    user_status: str
    user_locale: Locale | None = None


async def lock_refresh_token(session: AsyncSession, zone_id: int, token: str) -> RefreshTokenRow | None:
    """Row locks on the token and its session serialise two concurrent uses of the same token."""
    row = (await session.execute(text(
        "SELECT t.rotated_at, t.expires_at <= now() AS expired, s.id, s.zone_id, s.org_id, s.user_id, s.role,"
        " s.mfa_verified, s.revoked_at, s.expires_at <= now() AS session_expired, u.status, u.locale"
        " FROM auth.refresh_tokens t JOIN auth.sessions s ON s.id = t.session_id"
        " JOIN auth.users u ON u.zone_id = s.zone_id AND u.id = s.user_id"
        " WHERE t.token_hash = :h AND t.zone_id = :z FOR UPDATE OF t, s"),
        {"h": token_hash(token), "z": zone_id})).first()
    if row is None:
        return None
    info = SessionInfo(row.id, row.zone_id, row.org_id, row.user_id, row.role, row.mfa_verified)
    return RefreshTokenRow(info, row.rotated_at, bool(row.expired), row.revoked_at, bool(row.session_expired),
                           row.status, row.locale)


async def mark_rotated(session: AsyncSession, token: str) -> None:
    await session.execute(text("UPDATE auth.refresh_tokens SET rotated_at = now() WHERE token_hash = :h"),
                          {"h": token_hash(token)})


async def extend_session(session: AsyncSession, sid: uuid.UUID, ttl_days: int) -> None:
    await session.execute(text(
        "UPDATE auth.sessions SET last_used_at = now(), expires_at = now() + make_interval(days => :d)"
        " WHERE id = :id"), {"id": sid, "d": ttl_days})


async def find_by_refresh(session: AsyncSession, zone_id: int, token: str) -> SessionInfo | None:
    row = (await session.execute(text(
        "SELECT s.id, s.zone_id, s.org_id, s.user_id, s.role, s.mfa_verified FROM auth.refresh_tokens t"
        " JOIN auth.sessions s ON s.id = t.session_id WHERE t.token_hash = :h AND t.zone_id = :z"),
        {"h": token_hash(token), "z": zone_id})).first()
    return SessionInfo(*row) if row else None
