"""The auth audit log (`auth.audit_logs`, append-only): who did what, from where.

Rows are written inside the transaction of the change they describe, so an action and its
audit entry commit or vanish together; attempts that change nothing (a failed login, a
permission denial) get a transaction of their own.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
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


@dataclass(frozen=True)
class AuditQuery:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    user_id: uuid.UUID | None = None
    action: str | None = None  # exact, or a prefix ending in ".*" (e.g. "auth.login.*")
    before_id: int | None = None  # cursor: entries older than this id
    limit: int = 50


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search(session: AsyncSession, zone_id: int, q: AuditQuery) -> list[Any]:
    """Newest first, keyset-paginated on id. The WHERE clause is built from fixed fragments;
    every value is a bound parameter."""
    where, params = ["zone_id = :zone_id"], {"zone_id": zone_id, "limit": q.limit}
    if q.since is not None:
        where.append("created_at >= :since")
        params["since"] = q.since
    if q.until is not None:
        where.append("created_at < :until")
        params["until"] = q.until
    if q.user_id is not None:
        where.append("user_id = :user_id")
        params["user_id"] = q.user_id
    if q.action:
        if q.action.endswith(".*"):
            where.append("action LIKE :action")
            params["action"] = _like_prefix(q.action[:-1])
        else:
            where.append("action = :action")
            params["action"] = q.action
    if q.before_id is not None:
        where.append("id < :before_id")
        params["before_id"] = q.before_id
    sql = ("SELECT id, zone_id, org_id, user_id, action, address, user_agent, details, created_at"
           f" FROM auth.audit_logs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT :limit")
    return list((await session.execute(text(sql), params)).all())
