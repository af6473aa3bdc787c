"""Request/response models of /api/v1/arena/categories (limits are the table's CHECKs)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from megacity.http_app import problem_response

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

CYCLE = problem_response(409, "arena.category_cycle", "The move would put a category below itself",
                         "category 3c1d... cannot move below its own descendant 8e2f...")
EXISTS = problem_response(409, "arena.category_exists", "The parent already has a child of that name")
NOT_EMPTY = problem_response(409, "arena.category_not_empty", "The category still has child categories")
BAD_PARENT = problem_response(422, "arena.category_invalid",
                              "A zone-shared category's parent must be zone-shared too")

_EXAMPLE: dict[str, Any] = {
    "id": "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "org_id": None, "parent_id": "8e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7",
    "name": "Electrostatics", "shared": True, "path": ["Physics", "Electrostatics"],
    "created_at": "2026-12-01T08:00:00Z"}


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Electrostatics", "parent_id": "8e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7"},
        {"name": "Physics", "shared": True}]})

    name: Name
    parent_id: uuid.UUID | None = Field(None, description="null: a root category")
    shared: bool = Field(False, description="zone-shared (org_id null): zone and super admins only")


class CategoryPatch(BaseModel):
    """Only the fields sent change; `parent_id: null` makes it a root."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Electricity"}, {"parent_id": None}]})

    name: Name | None = None
    parent_id: uuid.UUID | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID | None = Field(description="null: zone-shared")
    parent_id: uuid.UUID | None
    name: str
    shared: bool
    path: list[str] = Field(description="names from the root to this category")
    created_at: dt.datetime


class CategoryList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[CategoryOut] = Field(description="depth first: each category after its parent, siblings by name")
