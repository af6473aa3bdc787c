"""The audit log for zone admins: filters by time, user and action; keyset (cursor) pagination."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.http_app import problems
from megacity.pagination import INVALID_CURSOR, Keyset
from megacity.runtime import Resources, resources
from services.auth import audit
from services.auth.db_scope import principal_transaction
from services.auth.http_shared import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class AuditEntry(BaseModel):
    id: int
    zone_id: int
    org_id: uuid.UUID | None
    user_id: uuid.UUID | None
    action: str
    address: str | None
    user_agent: str | None
    details: dict[str, Any]
    created_at: dt.datetime


class AuditPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": 1042, "zone_id": 1, "org_id": None, "user_id": "7c0e2b1a-3d4f-4a5b-8c6d-9e0f1a2b3c4d",
                   "action": "auth.login.failed", "address": "203.0.113.7", "user_agent": "Mozilla/5.0",
                   "details": {"email": "minji@example.com", "reason": "wrong_password"},
                   "created_at": "2026-03-01T09:00:00Z"}],
        "next_cursor": "AVsxMDQyXW1Q7ZjbKbkTMIfx4KzuBcY"}]})

    items: list[AuditEntry]
    next_cursor: str | None


# Newest first by id (unique, increasing): the one signed keyset cursor every listing uses.
AUDIT_KEYSET = Keyset("auth.audit_logs", id=int)


@router.get("/audit-logs", response_model=AuditPage, summary="Search the auth audit log of this zone",
            description="Zone admins and super admins (permission `zone:audit`). Newest first. `action` is exact "
                        "or a prefix ending in `.*` (e.g. `auth.login.*`). Pass `next_cursor` back as `cursor` "
                        "for the next page; it is null on the last page.",
            responses=problems(UNAUTHORIZED, (400, INVALID_CURSOR, "Cursor not issued by this listing"),
                               (403, "auth.permission_denied", "Not a zone admin"), ZONE_MISMATCH,
                               (422, "request.invalid", "Bad filter (e.g. `from` after `to`)"), UNKNOWN_HOST))
async def audit_logs(
    principal: Principal = Depends(require("zone:audit")),
    res: Resources = Depends(resources),
    since: dt.datetime | None = Query(default=None, alias="from", description="inclusive, ISO 8601",
                                      examples=["2026-03-01T00:00:00Z"]),
    until: dt.datetime | None = Query(default=None, alias="to", description="exclusive, ISO 8601"),
    user_id: uuid.UUID | None = Query(default=None),
    action: str | None = Query(default=None, max_length=100, examples=["auth.login.failed", "auth.login.*"]),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=200),
) -> AuditPage:
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise AppError(422, "request.invalid", "from/to need a time zone (e.g. ...Z)")
    if since and until and since >= until:
        raise AppError(422, "request.invalid", "`from` must be before `to`")
    after = AUDIT_KEYSET.decode(cursor, res.settings.secret_key)
    q = audit.AuditQuery(since=since, until=until, user_id=user_id, action=action,
                         before_id=after[0] if after else None, limit=limit + 1)
    async with principal_transaction(res.db(), principal) as s:
        rows = await audit.search(s, principal.zone_id, q)
    page, next_cursor = AUDIT_KEYSET.page(rows, limit, res.settings.secret_key)
    return AuditPage(items=[AuditEntry(**r._mapping) for r in page], next_cursor=next_cursor)
