"""Request/response models of /api/v1/orgs/{org_id}/members."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.tenant import listing
from services.tenant.fields import Email

OrgRole = Literal["org_admin", "teacher", "student", "parent"]
_EXAMPLE: dict[str, Any] = {"user_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "role": "teacher", "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z",
            "name": "Kim Minji", "email": "kim.teacher@example.com"}


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "kim.teacher@example.com", "role": "teacher"},
        {"user_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "role": "student"}]})

    email: Email | None = None
    user_id: uuid.UUID | None = None
    role: OrgRole

    @model_validator(mode="after")
    def _one_identity(self) -> MemberIn:
        if (self.email is None) == (self.user_id is None):
            raise ValueError("give exactly one of email or user_id")
        return self


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "org_admin"}]})

    role: OrgRole


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str
    created_at: dt.datetime
    updated_at: dt.datetime
    name: str | None = Field(None, description="the user's display name in auth (listings; null when unknown)")
    email: str | None = Field(None, description="the user's email in auth (listings; null when unknown)")


class MemberList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[MemberOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)
