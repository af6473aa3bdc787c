"""Request/response models of /api/v1/parent-links."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from services.tenant.fields import Email

LinkStatus = Literal["pending", "approved", "rejected", "revoked"]
_EXAMPLE: dict[str, Any] = {"id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "parent_user_id": "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", "student_user_id":
            "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "student_id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
            "status": "pending", "requested_at": "2026-03-01T09:00:00Z", "decided_at": None, "decided_by": None,
            "revoked_at": None, "revoked_by": None}


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"student_email": "kim.minji@example.com"}]})

    student_email: Email


class LinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    parent_user_id: uuid.UUID
    student_user_id: uuid.UUID
    student_id: uuid.UUID | None
    status: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: uuid.UUID | None
    revoked_at: dt.datetime | None
    revoked_by: uuid.UUID | None


class LinkList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[LinkOut]
