"""Response models of the dashboard endpoint."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response

_EXAMPLE: dict[str, Any] = {
    "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110", "exam_id": None, "since": "2025-09-01T00:00:00Z", "until": None,
    "totals": {"attempts": 215, "in_progress": 5, "completed": 200, "expired": 7, "incomplete": 3, "students": 118,
               "mean_theta": 0.08, "sd_theta": 0.97, "mean_scaled_score": 508.0},
    "classes": [{"class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "attempts": 60, "scored": 58, "students": 29,
                 "mean_theta": 0.21}],
    "exams": [{"exam_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876", "title": "Algebra placement (adaptive)",
               "kind": "adaptive", "attempts": 150, "scored": 143, "incomplete": 3, "mean_theta": 0.12}],
    "items": [{"item_id": "8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "code": "ALG-0001", "content_area": "algebra",
               "responses": 97, "p_value": 0.64, "point_biserial": 0.41, "criterion": "theta"}]}
FORBIDDEN = problem_response(403, "analytics.forbidden", "Dashboards are for teachers and admins")
EXAM_NOT_FOUND = problem_response(404, "exam.not_found", "No such exam in your org")
# A teacher's scope (services/exam/teacher_classes.py): its classes, asked of tenant.
CLASS_NOT_FOUND = problem_response(404, "class.not_found", "No such class in your org, or not one of your classes")
TENANT_DOWN = problem_response(503, "dependency.tenant_unavailable", "Tenant (a teacher's classes) did not answer")


class Totals(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempts: int
    in_progress: int
    completed: int
    expired: int
    incomplete: int = Field(description="adaptive attempts ended before min_items: in no mean or statistic")
    students: int
    mean_theta: float | None = Field(description="over counted (completed or expired) attempts")
    sd_theta: float | None
    mean_scaled_score: float | None


class ClassStats(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    class_id: uuid.UUID | None = Field(description="null: exams not set for a class")
    attempts: int
    scored: int = Field(description="counted attempts: completed or expired")
    students: int
    mean_theta: float | None


class ExamStats(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    exam_id: uuid.UUID
    title: str
    kind: str
    attempts: int
    scored: int = Field(description="counted attempts: completed or expired")
    incomplete: int
    mean_theta: float | None


class ItemStats(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: uuid.UUID
    code: str
    content_area: str
    responses: int
    p_value: float = Field(description="mean of score / max score")
    point_biserial: float | None = Field(description="null when either variable does not vary")
    criterion: str = Field(description="`rest_score` (fixed exam) or `theta`")


class Dashboard(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    org_id: uuid.UUID
    exam_id: uuid.UUID | None
    since: dt.datetime | None
    until: dt.datetime | None
    totals: Totals
    classes: list[ClassStats]
    exams: list[ExamStats]
    items: list[ItemStats]
