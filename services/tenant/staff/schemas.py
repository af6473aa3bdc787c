"""Request/response models of /api/v1/rosters/teachers and /api/v1/rosters/parents."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.tenant import listing
from services.tenant.fields import Email, Name, Phone

_EXAMPLE: dict[str, Any] = {"id": "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "user_id": None, "name": "Park Jisoo", "email": "park@example.com", "phone": "01098765432",
            "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z"}


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Park Jisoo", "email": "park@example.com", "phone": "010-9876-5432"}]})

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    user_id: uuid.UUID | None = None


class PersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone": "010-1111-2222"}]})

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    user_id: uuid.UUID | None = None


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    email: str | None
    phone: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PersonList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[PersonOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)
