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
