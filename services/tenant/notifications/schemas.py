"""Response models of /api/v1/notifications."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.tenant import listing

_EXAMPLE: dict[str, Any] = {
    "id": "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
    "kind": "parent_link.requested", "title": "parent@example.com asked to be linked to you as a parent",
    "data": {"link_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "status": "pending"},
    "created_at": "2026-03-01T09:00:00Z", "read_at": None}


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    kind: str = Field(description="What happened, e.g. `parent_link.requested`, `parent_link.approved`")
    title: str
    data: dict[str, Any] = Field(description="Ids the client needs to act (link_id, student_id, ...)")
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[NotificationOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)
