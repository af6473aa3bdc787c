"""SQL only the mfa feature runs: storing a pending TOTP secret, and the recovery codes. (Turning
TOTP on is shared with login completion: `services.auth.accounts.enable_mfa`.)"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def set_mfa_secret(session: AsyncSession, user_id: uuid.UUID, secret_encrypted: str) -> None:
    """A new secret, pending its first verified code; never replaces the secret of TOTP already on."""
    await session.execute(text("UPDATE auth.users SET mfa_secret_encrypted = :s, updated_at = now()"
                               " WHERE id = :id AND mfa_enabled_at IS NULL"), {"s": secret_encrypted, "id": user_id})


# -- recovery codes (migration 0007: auth.mfa_recovery_codes) ---------------------------------------
async def replace_recovery_codes(session: AsyncSession, zone_id: int, user_id: uuid.UUID, hashes: list[bytes]) -> None:
    """A new set: the old codes, used or not, are gone."""
    await session.execute(text("DELETE FROM auth.mfa_recovery_codes WHERE zone_id = :z AND user_id = :u"),
                          {"z": zone_id, "u": user_id})
    await session.execute(text(
        "INSERT INTO auth.mfa_recovery_codes (zone_id, user_id, code_hash)"
        " SELECT :z, :u, h FROM unnest(CAST(:hashes AS bytea[])) AS h"), {"z": zone_id, "u": user_id, "hashes": hashes})


async def use_recovery_code(session: AsyncSession, zone_id: int, user_id: uuid.UUID, code_hash: bytes) -> bool:
    """Spend one unused code (the row lock of the UPDATE makes two uses of one code one)."""
    row = (await session.execute(text(
        "UPDATE auth.mfa_recovery_codes SET used_at = now() WHERE zone_id = :z AND user_id = :u AND code_hash = :h"
        " AND used_at IS NULL RETURNING code_hash"), {"z": zone_id, "u": user_id, "h": code_hash})).first()
    return row is not None


@dataclass(frozen=True)
class RecoveryCodeCounts:
    remaining: int
    total: int
    generated_at: dt.datetime | None


async def recovery_code_counts(session: AsyncSession, zone_id: int, user_id: uuid.UUID) -> RecoveryCodeCounts:
    row = (await session.execute(text(
        "SELECT count(*) FILTER (WHERE used_at IS NULL), count(*), max(created_at)"
        " FROM auth.mfa_recovery_codes WHERE zone_id = :z AND user_id = :u"), {"z": zone_id, "u": user_id})).one()
    return RecoveryCodeCounts(int(row[0]), int(row[1]), row[2])
