"""Searching the auth audit log (zone admins): filter checks, the signed keyset cursor, the read
under the admin's own tenant context (RLS: admins read their zone only)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.auth.audit import queries
from services.auth.audit.queries import AuditQuery, AuditRow
from services.auth.db_scope import principal_transaction

# Newest first by id (unique, increasing): the one signed keyset cursor every listing uses.
AUDIT_KEYSET = Keyset("auth.audit_logs", id=int)


@dataclass(frozen=True)
class AuditFilter:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    user_id: uuid.UUID | None = None
    action: str | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class AuditPageResult:
    items: list[AuditRow]
    next_cursor: str | None


async def search(res: Resources, principal: Principal, f: AuditFilter) -> AuditPageResult:
    """One page of the zone's audit log, newest first. 422 `request.invalid` for a bad time
    filter, 400 `request.invalid_cursor` for a cursor this listing did not issue."""
    for value in (f.since, f.until):
        if value is not None and value.tzinfo is None:
            raise AppError(422, "request.invalid", "from/to need a time zone (e.g. ...Z)")
    if f.since and f.until and f.since >= f.until:
        raise AppError(422, "request.invalid", "`from` must be before `to`")
    after = AUDIT_KEYSET.decode(f.cursor, res.settings.secret_key)
    q = AuditQuery(since=f.since, until=f.until, user_id=f.user_id, action=f.action,
                   before_id=after[0] if after else None, limit=f.limit + 1)
    async with principal_transaction(res.db(), principal) as s:
        rows = await queries.search(s, principal.zone_id, q)
    page, next_cursor = AUDIT_KEYSET.page(rows, f.limit, res.settings.secret_key)
    return AuditPageResult(page, next_cursor)
