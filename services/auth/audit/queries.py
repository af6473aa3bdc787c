"""SQL of the audit feature: searching `auth.audit_logs` (writes are `services.auth.audit_log`)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class AuditQuery:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    user_id: uuid.UUID | None = None
    action: str | None = None  # exact, or a prefix ending in ".*" (e.g. "auth.login.*")
    before_id: int | None = None  # cursor: entries older than this id
    limit: int = 50


class AuditRow(NamedTuple):
    id: int
    zone_id: int
    org_id: uuid.UUID | None
    user_id: uuid.UUID | None
    action: str
    address: str | None
    user_agent: str | None
    details: dict[str, Any]
    created_at: dt.datetime


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search(session: AsyncSession, zone_id: int, q: AuditQuery) -> list[AuditRow]:
    """Newest first, keyset-paginated on id. The WHERE clause is built from fixed fragments;
    every value is a bound parameter."""
    where = ["zone_id = :zone_id"]
    params: dict[str, Any] = {"zone_id": zone_id, "limit": q.limit}
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
    return [AuditRow(*r) for r in await session.execute(text(sql), params)]
