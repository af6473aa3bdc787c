"""HTTP of the audit: `GET /api/v1/admin/audit-logs` (auth's own log, zone admins) and
`GET /api/v1/audit` (the platform audit of every service, zone admins and org admins); filters
by time, actor, action, target and org; keyset (cursor) pagination."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.pagination import INVALID_CURSOR
from megacity.runtime import ResourcesDep
from services.auth.api_errors import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH
from services.auth.audit import service
from services.auth.audit.schemas import (
    AuditActorOut,
    AuditEntry,
    AuditPage,
    AuditTargetOut,
    PlatformAuditEntry,
    PlatformAuditPage,
)

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

ZoneAuditor = Annotated[Principal, Depends(require("zone:audit"))]


@router.get("/audit-logs", response_model=AuditPage, summary="Search the auth audit log of this zone",
            description="Zone admins and super admins (permission `zone:audit`). Newest first. `action` is exact "
                        "or a prefix ending in `.*` (e.g. `auth.login.*`). Pass `next_cursor` back as `cursor` "
                        "for the next page; it is null on the last page.",
            responses=problems(UNAUTHORIZED, (400, INVALID_CURSOR, "Cursor not issued by this listing"),
                               (403, "auth.permission_denied", "Not a zone admin"), ZONE_MISMATCH,
                               (422, "request.invalid", "Bad filter (e.g. `from` after `to`)"), UNKNOWN_HOST))
async def audit_logs(
    principal: ZoneAuditor,
    res: ResourcesDep,
    since: dt.datetime | None = Query(default=None, alias="from", description="inclusive, ISO 8601",
                                      examples=["2026-03-01T00:00:00Z"]),
    until: dt.datetime | None = Query(default=None, alias="to", description="exclusive, ISO 8601"),
    user_id: uuid.UUID | None = Query(default=None),
    action: str | None = Query(default=None, max_length=100, examples=["auth.login.failed", "auth.login.*"]),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=200),
) -> AuditPage:
    page = await service.search(res, principal, service.AuditFilter(
        since=since, until=until, user_id=user_id, action=action, limit=limit, cursor=cursor))
    return AuditPage(items=[AuditEntry(**r._asdict()) for r in page.items], next_cursor=page.next_cursor)


# The platform audit: every service's records (auth.platform_audit) and auth's own log.
platform_router = APIRouter(prefix="/api/v1", tags=["audit"])

PlatformAuditor = Annotated[Principal, Depends(require("zone:audit", "org:audit"))]


@platform_router.get(
    "/audit", response_model=PlatformAuditPage, summary="Search the platform audit (every service)",
    description="Admin and data-changing actions of every service (tenant, exam, kzone, classroom, arena, auth), "
                "newest first. Zone and super admins (`zone:audit`) read their zone; org admins (`org:audit`) "
                "read their own org only (row-level security; asking for another `org_id` is 403). `action` is "
                "a prefix (`tenant.member.` or a full action). Auth's own log (`service=auth`) is visible to "
                "zone admins. Pass `next_cursor` back as `cursor`; it is null on the last page.",
    responses=problems(UNAUTHORIZED, (400, INVALID_CURSOR, "Cursor not issued by this listing"),
                       (403, "auth.permission_denied", "Neither a zone admin nor an org admin"),
                       (403, "audit.org_forbidden", "An org admin asked for another org"), ZONE_MISMATCH,
                       (422, "request.invalid", "Bad filter (e.g. `from` after `to`, `target_id` without "
                                                "`target_type`)"), UNKNOWN_HOST))
async def platform_audit(
    principal: PlatformAuditor,
    res: ResourcesDep,
    since: dt.datetime | None = Query(default=None, alias="from", description="inclusive, ISO 8601",
                                      examples=["2026-03-01T00:00:00Z"]),
    until: dt.datetime | None = Query(default=None, alias="to", description="exclusive, ISO 8601",
                                      examples=["2026-04-01T00:00:00Z"]),
    service_name: str | None = Query(default=None, alias="service", pattern=r"^[a-z][a-z0-9_]{0,39}$",
                                     examples=["tenant"]),
    action: str | None = Query(default=None, min_length=1, max_length=120, pattern=r"^[a-z0-9_.]+$",
                               examples=["tenant.member.", "exam.exam.published"]),
    actor_id: uuid.UUID | None = Query(default=None, description="the acting user"),
    target_type: str | None = Query(default=None, max_length=50, pattern=r"^[a-z][a-z0-9_]*$",
                                    examples=["membership"]),
    target_id: str | None = Query(default=None, min_length=1, max_length=200),
    org_id: uuid.UUID | None = Query(default=None, description="zone admins: one org; org admins: their own"),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=400),
) -> PlatformAuditPage:
    page = await service.search_platform(res, principal, service.PlatformFilter(
        since=since, until=until, service=service_name, action=action, actor_id=actor_id, target_type=target_type,
        target_id=target_id, org_id=org_id, limit=limit, cursor=cursor))
    return PlatformAuditPage(items=[PlatformAuditEntry(
        id=r.key, event_id=r.event_id, zone_id=r.zone_id, org_id=r.org_id, service=r.service, action=r.action,
        actor=AuditActorOut(user_id=r.actor_user_id, role=r.actor_role, kind=r.actor_kind),
        target=AuditTargetOut(type=r.target_type, id=r.target_id), before=r.before, after=r.after,
        trace_id=r.trace_id, occurred_at=r.occurred_at) for r in page.items], next_cursor=page.next_cursor)
