"""Writing the auth audit log (`auth.audit_logs`, append-only): who did what, from where.
Every feature records here; admins search it through the `audit` feature.

Rows are written inside the transaction of the change they describe, so an action and its
audit entry commit or vanish together; attempts that change nothing (a failed login, a
permission denial) get a transaction of their own.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.auth.client_info import ClientInfo
from services.auth.db_scope import scoped_transaction

_INSERT = text(
    "INSERT INTO auth.audit_logs (zone_id, org_id, user_id, action, address, user_agent, details)"
    " VALUES (:zone_id, :org_id, :user_id, :action, :address, :user_agent, CAST(:details AS jsonb))")


async def record(session: AsyncSession, *, zone_id: int, action: str, user_id: uuid.UUID | None = None,
                 org_id: uuid.UUID | None = None, client: ClientInfo | None = None,
                 details: dict[str, Any] | None = None) -> None:
    await session.execute(_INSERT, {
        "zone_id": zone_id, "org_id": org_id, "user_id": user_id, "action": action,
        "address": client.address if client else None, "user_agent": client.user_agent if client else None,
        "details": json.dumps(details or {}, default=str)})


async def record_alone(sessions: async_sessionmaker[AsyncSession], **kwargs: Any) -> None:
    """One entry in a transaction of its own (for attempts that change nothing else)."""
    async with scoped_transaction(sessions, kwargs["zone_id"], "service") as session:
        await record(session, **kwargs)
