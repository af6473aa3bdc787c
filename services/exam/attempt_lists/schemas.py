"""Response models of `GET /api/v1/exams/{exam_id}/attempts`."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ListStatus = Literal["in_progress", "completed", "expired", "incomplete", "not_started"]

_ATTEMPT: dict[str, Any] = {
    "student_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "roster_student_id": None, "name": "Kim Minji",
    "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "status": "completed",
    "attempt_id": "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b", "started_at": "2026-03-02T09:00:00Z",
    "ended_at": "2026-03-02T09:40:00Z", "n_responses": 20, "raw_score": 15, "max_score": 20, "scaled_score": 108.5}
_NOT_STARTED: dict[str, Any] = {
    "student_id": "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e", "roster_student_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "name": "Lee Jun", "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "status": "not_started",
    "attempt_id": None, "started_at": None, "ended_at": None, "n_responses": None, "raw_score": None,
    "max_score": None, "scaled_score": None}


class ExamAttemptRow(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_ATTEMPT, _NOT_STARTED]})

    student_id: uuid.UUID | None = Field(description="the student's user id (null: a roster student without an account)")
    roster_student_id: uuid.UUID | None = Field(None, description="`not_started` rows: the tenant roster record")
    name: str | None = Field(description="the student's display name (auth), else its roster name")
    class_id: uuid.UUID | None
    status: ListStatus
    attempt_id: uuid.UUID | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    n_responses: int | None = None
    raw_score: int | None = None
    max_score: int | None = None
    scaled_score: float | None = None


class ExamAttemptPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ATTEMPT], "next_cursor": None}]})

    items: list[ExamAttemptRow]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page")
