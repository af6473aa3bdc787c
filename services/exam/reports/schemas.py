"""Response models of the student report endpoint."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response

_ROW: dict[str, Any] = {"attempt_id": "0193c2a4-5b6c-7d8e-9f01-23456789abcd", "exam_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
        "exam_title": "Algebra placement (adaptive)", "kind": "adaptive",
        "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "status": "completed",
        "started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:21:13Z", "answered": 18, "raw_score": 12,
        "max_score": 18, "theta": 0.42, "se": 0.29, "scaled_score": 542.0, "estimator": "eap", "stop_reason": "se_reached",
        "counted": True, "percentile": 61.5, "percentile_unavailable": None, "norm_group_size": 148}
_EARLY: dict[str, Any] = {**_ROW, "attempt_id": "0193c2b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "status": "incomplete",
          "started_at": "2026-03-01T15:00:00Z", "ended_at": "2026-03-01T15:03:02Z", "answered": 3, "raw_score": 1,
          "max_score": 3, "theta": -0.61, "se": 0.78, "scaled_score": 439.0, "stop_reason": "submitted",
          "counted": False, "percentile": None, "percentile_unavailable": "attempt_incomplete"}
_EXAMPLE: dict[str, Any] = {"student_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "summary": {"attempts": 2, "completed": 1, "incomplete": 1, "in_progress": 0, "mean_theta": 0.42,
                        "latest_scaled_score": 542.0},
            "attempts": [_ROW, _EARLY],
            "content_areas": [{"content_area": "algebra", "responses": 18, "mean_score": 0.67}]}
NOT_YOURS = problem_response(403, "report.not_yours",
                             "Students see their own report only; teachers the students of their classes")
# After PARENT_LINK in `problems()`, whose 503 (same code) it replaces: tenant is asked for teachers too.
TENANT_DOWN = problem_response(503, "dependency.tenant_unavailable",
                               "Tenant (a parent's link, a teacher's classes and rosters) did not answer")


class AttemptReport(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_id: uuid.UUID
    exam_id: uuid.UUID
    exam_title: str
    kind: str
    class_id: uuid.UUID | None
    status: Literal["in_progress", "completed", "expired", "incomplete"] = Field(
        description="`incomplete`: an adaptive attempt that ended before the exam's `min_items` (see `counted`)")
    started_at: dt.datetime
    ended_at: dt.datetime | None
    answered: int
    raw_score: int
    max_score: int
    theta: float | None = Field(description="null while in progress")
    se: float | None = Field(description="standard error of θ (null while in progress)")
    scaled_score: float | None
    estimator: str | None
    stop_reason: str | None = Field(description="`submitted` / `expired` on an incomplete attempt: who ended it")
    counted: bool = Field(description="enters the summary, averages, percentiles and dashboards: completed or "
                                      "expired; false while in progress and for an incomplete attempt")
    percentile: float | None = Field(description="within the exam's norm group: the org's counted attempts of the "
                                                 "same exam; null when `percentile_unavailable` says why")
    percentile_unavailable: Literal["in_progress", "attempt_incomplete", "norm_group_too_small"] | None = Field(
        description="why `percentile` is null; `norm_group_too_small`: fewer counted attempts of the exam than "
                    "EXAM_MIN_NORM_GROUP (default 30)")
    norm_group_size: int | None = Field(description="counted attempts of the exam in the org (null while in progress)")


class Summary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempts: int
    completed: int = Field(description="counted attempts: completed or expired")
    incomplete: int = Field(description="adaptive attempts ended before min_items: listed, never counted")
    in_progress: int
    mean_theta: float | None = Field(description="over counted attempts")
    latest_scaled_score: float | None = Field(description="of the newest counted attempt")


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
