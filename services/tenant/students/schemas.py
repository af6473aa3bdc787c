"""Request/response models of /api/v1/rosters/students."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.tenant import listing
from services.tenant.fields import Email, Grade, Name, Phone

_EXAMPLE: dict[str, Any] = {"id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "user_id": None, "name": "Kim Minji", "grade": 10, "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "class_name": "10-A", "parent_phone": "01012345678", "email": "kim.minji@example.com",
            "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z", "deleted_at": None}


class StudentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Kim Minji", "grade": 10, "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
         "parent_phone": "010-1234-5678", "email": "kim.minji@example.com"}]})

    name: Name
    grade: Grade
    parent_phone: Phone
    class_id: uuid.UUID | None = None
    email: Email | None = None
    user_id: uuid.UUID | None = Field(None, description="The student's auth user, when known")


class StudentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grade": 11, "class_id": None}]})

    name: Name | None = None
    grade: Grade | None = None
    parent_phone: Phone | None = None
    class_id: uuid.UUID | None = None
    email: Email | None = None
    user_id: uuid.UUID | None = None


class StudentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    grade: int
    class_id: uuid.UUID | None
    class_name: str | None
    parent_phone: str
    email: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None


class StudentList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[StudentOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)
