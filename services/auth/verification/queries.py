"""SQL only email verification runs: the account's verification state."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class VerificationState:
    email: str
    display_name: str
    verified_at: dt.datetime | None


async def state(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> VerificationState | None:
    row = (await s.execute(text(
        "SELECT email, display_name, email_verified_at FROM auth.users WHERE zone_id = :z AND id = :id"),
        {"z": zone_id, "id": user_id})).first()
    return VerificationState(*row) if row else None


async def mark_verified(s: AsyncSession, zone_id: int, user_id: uuid.UUID, email: str) -> dt.datetime | None:
    """Stamp the address verified if it is still the account's; the stamp (a repeat keeps the first)."""
    return (await s.execute(text(
        "UPDATE auth.users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now()"
        " WHERE zone_id = :z AND id = :id AND email = :e RETURNING email_verified_at"),
        {"z": zone_id, "id": user_id, "e": email})).scalar_one_or_none()
