"""Response models of the audit-log search."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict


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


class AuditActorOut(BaseModel):
    user_id: uuid.UUID | None
    role: str | None  # null for entries of auth's own log (the role is in `after` when known)
    kind: str  # user | system


class AuditTargetOut(BaseModel):
    type: str | None
    id: str | None


class PlatformAuditEntry(BaseModel):
    id: str  # opaque, stable: the record's key
    event_id: uuid.UUID | None  # the producer's outbox event id (null for auth's own log)
    zone_id: int
    org_id: uuid.UUID | None
    service: str
    action: str
    actor: AuditActorOut
    target: AuditTargetOut
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    trace_id: str | None
    occurred_at: dt.datetime


class PlatformAuditPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": "p0000000000000000042", "event_id": "0b6f1d2e-8c3a-4f5e-9a7b-1c2d3e4f5a6b", "zone_id": 1,
                   "org_id": "5a1c9e2b-7d3f-4b6a-8e0c-2f4d6a8b0c1e", "service": "tenant",
                   "action": "tenant.member.role_changed",
                   "actor": {"user_id": "7c0e2b1a-3d4f-4a5b-8c6d-9e0f1a2b3c4d", "role": "org_admin", "kind": "user"},
                   "target": {"type": "membership", "id": "3e5a7c9b-1d2f-4e6a-8b0c-9d1e3f5a7b9c"},
                   "before": {"role": "student"}, "after": {"role": "teacher"},
                   "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "occurred_at": "2026-03-01T09:00:00Z"}],
        "next_cursor": "AVsiMjAyNi0wMy0wMVQwOTowMDowMCswMDowMCIsInAwMDAwMDAwMDAwMDAwMDAwMDQyIl0"}]})

    items: list[PlatformAuditEntry]
    next_cursor: str | None
