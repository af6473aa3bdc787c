"""SQL of the users feature that no other feature runs: changing a platform role (also used by
the operator CLI, `services.auth.admin`). Reading accounts is `services.auth.accounts`."""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def set_platform_role(session: AsyncSession, zone_id: int, user_id: uuid.UUID, role: str | None) -> bool:
    result = await session.execute(text("UPDATE auth.users SET platform_role = :r, updated_at = now()"
                                        " WHERE zone_id = :z AND id = :id"), {"r": role, "z": zone_id, "id": user_id})
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
