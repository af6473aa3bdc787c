"""SQL only the mfa feature runs: storing a pending TOTP secret. (Turning TOTP on is shared with
login completion: `services.auth.accounts.enable_mfa`.)"""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def set_mfa_secret(session: AsyncSession, user_id: uuid.UUID, secret_encrypted: str) -> None:
    """A new secret, pending its first verified code; never replaces the secret of TOTP already on."""
    await session.execute(text("UPDATE auth.users SET mfa_secret_encrypted = :s, updated_at = now()"
                               " WHERE id = :id AND mfa_enabled_at IS NULL"), {"s": secret_encrypted, "id": user_id})
