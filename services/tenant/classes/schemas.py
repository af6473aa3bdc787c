"""Request/response models of /api/v1/classes."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.tenant.fields import Grade, Name

_EXAMPLE: dict[str, Any] = {"id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "grade": 10, "name": "10-A", "student_count": 28, "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-01T09:00:00Z"}


class ClassIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grade": 10, "name": "10-A"}]})

    grade: Grade
    name: Name


class ClassPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "10-B"}]})

    grade: Grade | None = None
    name: Name | None = None


class ClassOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    grade: int
    name: str
    student_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ClassList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[ClassOut]


_TEACHER_EXAMPLE: dict[str, Any] = {"teacher_user_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "name": "Park Jisoo",
                                    "assigned_at": "2026-03-02T08:00:00Z"}


class ClassTeacherOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_TEACHER_EXAMPLE]})

    teacher_user_id: uuid.UUID
    name: str | None = Field(None, description="the teacher's roster record name, when one has this user")
    assigned_at: dt.datetime


class ClassTeacherList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_TEACHER_EXAMPLE]}]})

    items: list[ClassTeacherOut]
