"""Request and response models of the exam endpoints."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response
from services.exam.cat_settings import EXAMPLE as CAT_EXAMPLE
from services.exam.cat_settings import CatSettingsIn
from services.exam.exam_store import ExamRow

_BANK = "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
_IN_EXAMPLE: dict[str, Any] = {"title": "Algebra placement (adaptive)", "description": "Finds your level in 10-25 items",
               "kind": "adaptive", "item_bank_id": _BANK, "time_limit_seconds": 2400, "cat_settings": CAT_EXAMPLE,
               "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
_FIXED_EXAMPLE: dict[str, Any] = {"title": "Unit 3 quiz", "kind": "fixed", "item_bank_id": _BANK, "time_limit_seconds": 900,
                  "item_ids": ["8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "9f2a1b3c-4d5e-4f6a-8b7c-2d3e4f5a6b7c"]}
_OUT_EXAMPLE: dict[str, Any] = {"id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876", **_IN_EXAMPLE, "status": "published", "item_ids": [],
                "item_count": 0, "scale_mean": 500.0, "scale_sd": 100.0, "max_attempts": None,
                "created_by": "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d", "created_at": "2026-03-01T09:00:00Z",
                "updated_at": "2026-03-01T09:30:00Z", "published_at": "2026-03-01T09:30:00Z", "archived_at": None}
NOT_FOUND = problem_response(404, "exam.not_found", "No such exam in your org")
NOT_DRAFT = problem_response(409, "exam.not_draft", "Only a draft exam can be changed or published")
INVALID = problem_response(422, "exam.invalid", "The exam's fields are inconsistent",
                           "item_ids are for fixed exams; an adaptive exam draws from its whole bank")
BANK_NOT_FOUND = problem_response(422, "item_bank.not_found", "The bank does not exist in your org")
UNKNOWN_ITEMS = problem_response(422, "exam.unknown_items", "Some item_ids are not active items of the bank")
NOT_PUBLISHABLE = problem_response(422, "exam.not_publishable", "The exam cannot be taken as it is",
                                   "a fixed exam needs at least one item")
INVALID_CURSOR = problem_response(400, "request.invalid_cursor", "Bad cursor")


class ExamFields(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    time_limit_seconds: int | None = Field(None, ge=10, le=86400, description="server-enforced; null = untimed")
    scale_mean: float = Field(500.0, ge=-10000, le=10000, allow_inf_nan=False,
                              description="scaled score = scale_mean + scale_sd * θ")
    scale_sd: float = Field(100.0, gt=0, le=10000, allow_inf_nan=False)
    class_id: uuid.UUID | None = Field(None, description="the class the exam is set for (reports group by it)")
    max_attempts: int | None = Field(None, ge=1, le=100, description="attempts per student; null = unlimited")


class ExamIn(ExamFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_IN_EXAMPLE, _FIXED_EXAMPLE]})

    kind: Literal["fixed", "adaptive"]
    item_bank_id: uuid.UUID
    item_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500,
                                      description="fixed exams: the form, in order")
    cat_settings: CatSettingsIn | None = Field(None, description="adaptive exams (defaults apply when omitted)")


class ExamPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"time_limit_seconds": 1800}]})

    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    time_limit_seconds: int | None = Field(None, ge=10, le=86400)
    scale_mean: float | None = Field(None, ge=-10000, le=10000, allow_inf_nan=False)
    scale_sd: float | None = Field(None, gt=0, le=10000, allow_inf_nan=False)
    class_id: uuid.UUID | None = None
    max_attempts: int | None = Field(None, ge=1, le=100)
    item_bank_id: uuid.UUID | None = None
    item_ids: list[uuid.UUID] | None = Field(None, max_length=500)
    cat_settings: CatSettingsIn | None = None


class ExamOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_OUT_EXAMPLE]})

    id: uuid.UUID
    title: str
    description: str
    kind: Literal["fixed", "adaptive"]
    status: Literal["draft", "published", "archived"]
    item_bank_id: uuid.UUID
    item_ids: list[uuid.UUID] = Field(description="the fixed form (hidden from students)")
    item_count: int = Field(description="items on the fixed form; 0 for adaptive exams")
    time_limit_seconds: int | None
    cat_settings: CatSettingsIn | None
    scale_mean: float
    scale_sd: float
    class_id: uuid.UUID | None
    max_attempts: int | None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    published_at: dt.datetime | None
    archived_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: ExamRow, *, for_student: bool = False) -> ExamOut:
        doc = vars(row).copy()
        doc["item_bank_id"] = doc.pop("bank_id")
        ids = list(doc["item_ids"] or [])
        doc["item_count"] = len(ids)
        doc["item_ids"] = [] if for_student else ids
        return cls.model_validate(doc)


class ExamPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_OUT_EXAMPLE], "next_cursor": None}]})

    items: list[ExamOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
