"""Searching the audit: auth's own log (`/admin/audit-logs`, zone admins) and the platform audit
(`/audit`: every service's records plus auth's own log; zone admins their zone, org admins their
org). Filter checks, the signed keyset cursors, the read under the caller's own tenant context
(RLS decides the rows)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.pagination import Keyset, invalid_cursor
from megacity.roles import ZONE_ROLES
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


# --- the platform audit: every service's records plus auth's own log ------------------------

# Newest first by (occurred_at, key): the two sources interleave by time.
PLATFORM_KEYSET = Keyset("auth.platform_audit", occurred_at=dt.datetime, key=str)


@dataclass(frozen=True)
class PlatformFilter:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    service: str | None = None
    action: str | None = None  # a prefix: "tenant.member." or "tenant.member.role_changed"
    actor_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    org_id: uuid.UUID | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class PlatformPageResult:
    items: list[queries.PlatformRow]
    next_cursor: str | None


async def search_platform(res: Resources, principal: Principal, f: PlatformFilter) -> PlatformPageResult:
    """One page of the zone's (zone/super admins) or the caller's org's (org admins) audit,
    newest first. RLS decides the rows; an org admin asking for another org gets 403
    `audit.org_forbidden` rather than a silently empty page. 422 `request.invalid` for a bad
    time range or a target id without its type; 400 `request.invalid_cursor`."""
    for value in (f.since, f.until):
        if value is not None and value.tzinfo is None:
            raise AppError(422, "request.invalid", "from/to need a time zone (e.g. ...Z)")
    if f.since and f.until and f.since >= f.until:
        raise AppError(422, "request.invalid", "`from` must be before `to`")
    if f.target_id is not None and f.target_type is None:
        raise AppError(422, "request.invalid", "`target_id` needs `target_type`")
    org_id = f.org_id
    if principal.role not in ZONE_ROLES:
        if principal.org_id is None or (org_id is not None and org_id != principal.org_id):
            raise AppError(403, "audit.org_forbidden", "org admins read their own org's audit only")
        org_id = principal.org_id
    after = PLATFORM_KEYSET.decode(f.cursor, res.settings.secret_key)
    if after is not None:
        try:
            queries.parse_key(after[1])
        except ValueError:
            raise invalid_cursor() from None
    q = queries.PlatformQuery(
        since=f.since, until=f.until, service=f.service, action_prefix=f.action, actor_user_id=f.actor_id,
        target_type=f.target_type, target_id=f.target_id, org_id=org_id,
        after=(after[0], after[1]) if after else None, limit=f.limit + 1,
        include_auth=principal.role in ZONE_ROLES)
    async with principal_transaction(res.db(), principal) as s:
        rows = await queries.search_platform(s, principal.zone_id, q)
    page, next_cursor = PLATFORM_KEYSET.page(rows, f.limit, res.settings.secret_key)
    return PlatformPageResult(page, next_cursor)
