"""The audit log for zone admins: filters by time, user and action; keyset (cursor) pagination."""
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
from services.auth.audit.schemas import AuditEntry, AuditPage

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
