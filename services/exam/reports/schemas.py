"""Response models of the student report endpoint."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response

_ROW: dict[str, Any] = {"attempt_id": "0193c2a4-5b6c-7d8e-9f01-23456789abcd", "exam_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
        "exam_title": "Algebra placement (adaptive)", "kind": "adaptive",
        "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "status": "completed",
        "started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:21:13Z", "answered": 18, "raw_score": 12,
        "max_score": 18, "theta": 0.42, "se": 0.29, "scaled_score": 542.0, "percentile": 61.5, "estimator": "eap"}
_EXAMPLE: dict[str, Any] = {"student_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "summary": {"attempts": 1, "completed": 1, "in_progress": 0, "mean_theta": 0.42,
                        "latest_scaled_score": 542.0},
            "attempts": [_ROW],
            "content_areas": [{"content_area": "algebra", "responses": 18, "mean_score": 0.67}]}
NOT_YOURS = problem_response(403, "report.not_yours", "Students see their own report only")


class AttemptReport(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_id: uuid.UUID
    exam_id: uuid.UUID
    exam_title: str
    kind: str
    class_id: uuid.UUID | None
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    answered: int
    raw_score: int
    max_score: int
    theta: float | None
    se: float | None
    scaled_score: float | None
    percentile: float | None = Field(description="within the org's scored attempts of the same exam")
    estimator: str | None


class Summary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempts: int
    completed: int
    in_progress: int
    mean_theta: float | None
    latest_scaled_score: float | None


class AreaScore(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    content_area: str
    responses: int
    mean_score: float = Field(description="mean of score / max score over the student's responses")


class StudentReport(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    student_id: uuid.UUID
    org_id: uuid.UUID
    summary: Summary
    attempts: list[AttemptReport] = Field(description="newest first")
    content_areas: list[AreaScore]
