"""SQL of "my sessions" (`auth.sessions`; RLS shows a user only their own)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

MAX_LISTED = 100


@dataclass(frozen=True)
class DeviceRow:
    id: uuid.UUID
    user_agent: str | None
    address: str | None
    role: str
    org_id: uuid.UUID | None
    mfa_verified: bool
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime


async def live_sessions(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> list[DeviceRow]:
    """The user's sessions not revoked and not expired, most recently used first."""
    rows = (await s.execute(text(
        "SELECT id, user_agent, address, role, org_id, mfa_verified, created_at, last_used_at, expires_at"
        " FROM auth.sessions WHERE zone_id = :z AND user_id = :u AND revoked_at IS NULL AND expires_at > now()"
        " ORDER BY last_used_at DESC, created_at DESC LIMIT :n"), {"z": zone_id, "u": user_id, "n": MAX_LISTED})).all()
    return [DeviceRow(*r) for r in rows]


async def revoke_own(s: AsyncSession, zone_id: int, user_id: uuid.UUID, sid: uuid.UUID) -> bool:
    """Revoke one live session of this user; False when it is not theirs or not live."""
    row = (await s.execute(text(
        "UPDATE auth.sessions SET revoked_at = now(), revoked_reason = 'user_revoked'"
        " WHERE zone_id = :z AND user_id = :u AND id = :id AND revoked_at IS NULL AND expires_at > now()"
        " RETURNING id"), {"z": zone_id, "u": user_id, "id": sid})).first()
    return row is not None
