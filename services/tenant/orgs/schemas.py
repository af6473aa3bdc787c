"""Request/response models of /api/v1/orgs."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.tenant import listing

PLAN = r"^[a-z][a-z0-9_-]{0,31}$"
OrgStatus = Literal["active", "suspended", "deleted"]
_EXAMPLE: dict[str, Any] = {"id": "1f0e2d3c-4b5a-4968-8776-655443322110", "zone_id": 1, "name": "Seoul Science Academy",
            "plan": "standard", "status": "active", "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-01T09:00:00Z"}


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Seoul Science Academy", "plan": "standard"}]})

    name: str = Field(min_length=1, max_length=200)
    plan: str = Field("free", pattern=PLAN)


class OrgPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Seoul Science Academy (Gangnam)"}, {"status": "suspended"}]})

    name: str | None = Field(None, min_length=1, max_length=200)
    plan: str | None = Field(None, pattern=PLAN)
    status: OrgStatus | None = None


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    zone_id: int
    name: str
    plan: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class OrgList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[OrgOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)
