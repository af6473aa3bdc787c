"""Request/response models of /api/v1/parent-links."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.tenant.fields import Email

LinkStatus = Literal["pending", "approved", "rejected", "revoked"]
_EXAMPLE: dict[str, Any] = {"id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "parent_user_id": "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", "student_user_id":
            "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "student_id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
            "status": "pending", "requested_at": "2026-03-01T09:00:00Z", "decided_at": None, "decided_by": None,
            "revoked_at": None, "revoked_by": None}


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"student_email": "kim.minji@example.com"},
        {"org_id": "1f0e2d3c-4b5a-4968-8776-655443322110", "parent_code": "K7QM-2XRT-9PLA"}]})

    student_email: Email | None = Field(None, description="The student's account email (the link starts pending)")
    parent_code: str | None = Field(None, min_length=4, max_length=40,
                                    description="A code the school issued (the link starts approved)")
    org_id: uuid.UUID | None = Field(None, description="The org to ask in: required for a signed-in user with no "
                                                       "org role (guest); a parent's token names its org")

    @model_validator(mode="after")
    def _one_of(self) -> LinkRequest:
        if (self.student_email is None) == (self.parent_code is None):
            raise ValueError("give either student_email or parent_code")
        return self


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


class LinkRequested(LinkOut):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {**_EXAMPLE, "parent_role_granted": True}]})

    parent_role_granted: bool = Field(description="This request made you a parent member of the org: sign in "
                                                  "again (naming the org) to act as its parent")


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"valid_days": 14}]})

    valid_days: int = Field(14, ge=1, le=90, description="Days until the code expires")


class CodeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "4c5d6e7f-8091-4a2b-bc3d-4e5f60718293", "student_id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
        "code": "K7QM-2XRT-9PLA", "expires_at": "2026-03-15T09:00:00Z"}]})

    id: uuid.UUID
    student_id: uuid.UUID
    code: str = Field(description="Shown this once; hand it to the parent. Single use.")
    expires_at: dt.datetime


_CHILD: dict[str, Any] = {
    "link_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "student_user_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d",
    "student_id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", "name": "Kim Minji", "display_name": "Minji", "grade": 10,
    "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "class_name": "10-A", "linked_at": "2026-03-01T09:05:00Z"}


class ChildOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CHILD]})

    link_id: uuid.UUID
    student_user_id: uuid.UUID
    student_id: uuid.UUID | None = Field(description="The roster record, when the student has one")
    name: str | None = Field(description="Roster name, else the account's display name or email")
    display_name: str | None = Field(description="The account's display name in auth, if set")
    grade: int | None
    class_id: uuid.UUID | None
    class_name: str | None
    linked_at: dt.datetime | None


class ChildList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_CHILD]}]})

    items: list[ChildOut]


class LinkList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[LinkOut]
