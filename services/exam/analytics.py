"""The org dashboard: `GET /api/v1/analytics/dashboard` for teachers and org admins
(`report:read`; zone admins name the org; parents are refused).

- totals: attempts by status, distinct students, mean / SD of θ, mean scaled score;
- per class (the class the exam was set for): attempts, students, mean θ;
- per exam: attempts, completions, mean θ;
- classical item statistics over scored attempts: responses, p-value (mean score / max score)
  and point-biserial — the correlation of the item score with the rest score (total minus the
  item) on a fixed exam, or with θ on an adaptive exam or across exams (where totals of
  different item sets are not comparable).
Only scored (completed or expired) attempts enter θ means and item statistics.
"""
from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.runtime import Resources, resources
from services.exam.access import DENIED, ORG_ID, ORG_SCOPE, acting_org, is_staff, org_context
from services.exam.exams import load_exam

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

_EXAMPLE = {
    "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110", "exam_id": None, "since": "2025-09-01T00:00:00Z", "until": None,
    "totals": {"attempts": 212, "in_progress": 5, "completed": 200, "expired": 7, "students": 118,
               "mean_theta": 0.08, "sd_theta": 0.97, "mean_scaled_score": 508.0},
    "classes": [{"class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "attempts": 60, "scored": 58, "students": 29,
                 "mean_theta": 0.21}],
    "exams": [{"exam_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876", "title": "Algebra placement (adaptive)",
               "kind": "adaptive", "attempts": 150, "scored": 146, "mean_theta": 0.12}],
    "items": [{"item_id": "8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "code": "ALG-0001", "content_area": "algebra",
               "responses": 97, "p_value": 0.64, "point_biserial": 0.41, "criterion": "theta"}]}


class Totals(BaseModel):
    attempts: int
    in_progress: int
    completed: int
    expired: int
    students: int
    mean_theta: float | None
    sd_theta: float | None
    mean_scaled_score: float | None


class ClassStats(BaseModel):
    class_id: uuid.UUID | None = Field(description="null: exams not set for a class")
    attempts: int
    scored: int
    students: int
    mean_theta: float | None


class ExamStats(BaseModel):
    exam_id: uuid.UUID
    title: str
    kind: str
    attempts: int
    scored: int
    mean_theta: float | None


class ItemStats(BaseModel):
    item_id: uuid.UUID
    code: str
    content_area: str
    responses: int
    p_value: float = Field(description="mean of score / max score")
    point_biserial: float | None = Field(description="null when either variable does not vary")
    criterion: str = Field(description="`rest_score` (fixed exam) or `theta`")


class Dashboard(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    org_id: uuid.UUID
    exam_id: uuid.UUID | None
    since: dt.datetime | None
    until: dt.datetime | None
    totals: Totals
    classes: list[ClassStats]
    exams: list[ExamStats]
    items: list[ItemStats]


def _r(value: float | None, nd: int = 4) -> float | None:
    return None if value is None else round(float(value), nd)


_FILTER = (" a.zone_id = :z AND a.org_id = :o AND (CAST(:exam AS uuid) IS NULL OR a.exam_id = :exam)"
           " AND (CAST(:class_id AS uuid) IS NULL OR a.class_id = :class_id)"
           " AND (CAST(:since AS timestamptz) IS NULL OR a.started_at >= :since)"
           " AND (CAST(:until AS timestamptz) IS NULL OR a.started_at < :until)")
_SCORED = "a.status IN ('completed', 'expired')"


@router.get("/dashboard", response_model=Dashboard, summary="Org dashboard: attempts, θ by class, item statistics",
            description=__doc__,
            responses={**ORG_SCOPE, **DENIED,
                       **problem_response(403, "analytics.forbidden", "Dashboards are for teachers and admins"),
                       **problem_response(404, "exam.not_found", "No such exam in your org")})
async def dashboard(exam_id: uuid.UUID | None = None, class_id: uuid.UUID | None = None,
                    since: dt.datetime | None = Query(None, description="attempts started at or after"),
                    until: dt.datetime | None = Query(None, description="attempts started before"),
                    item_limit: int = Query(100, ge=0, le=1000), org_id: uuid.UUID | None = ORG_ID,
                    principal: Principal = Depends(require("report:read")),
                    res: Resources = Depends(resources)) -> Dashboard:
    if not is_staff(principal):
        raise AppError(403, "analytics.forbidden", "the dashboard is for teachers and admins")
    org = acting_org(principal, org_id)
    p = {"z": principal.zone_id, "o": org, "exam": exam_id, "class_id": class_id, "since": since, "until": until,
         "limit": item_limit}
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        criterion = "theta"
        if exam_id is not None:
            exam = await load_exam(s, principal.zone_id, org, exam_id)
            criterion = "rest_score" if exam.kind == "fixed" else "theta"
        t = (await s.execute(text(
            "SELECT count(*) AS attempts, count(*) FILTER (WHERE a.status = 'in_progress') AS in_progress,"
            " count(*) FILTER (WHERE a.status = 'completed') AS completed,"
            " count(*) FILTER (WHERE a.status = 'expired') AS expired, count(DISTINCT a.student_id) AS students,"
            f" avg(a.theta) FILTER (WHERE {_SCORED}) AS mean_theta,"
            f" stddev_samp(a.theta) FILTER (WHERE {_SCORED}) AS sd_theta,"
            f" avg(a.scaled_score) FILTER (WHERE {_SCORED}) AS mean_scaled"
            f" FROM exam.attempts a WHERE {_FILTER}"), p)).one()
        classes = (await s.execute(text(
            f"SELECT a.class_id, count(*) AS attempts, count(*) FILTER (WHERE {_SCORED}) AS scored,"
            f" count(DISTINCT a.student_id) AS students, avg(a.theta) FILTER (WHERE {_SCORED}) AS mean_theta"
            f" FROM exam.attempts a WHERE {_FILTER} GROUP BY a.class_id ORDER BY attempts DESC LIMIT 200"), p)).all()
        exams = (await s.execute(text(
            f"SELECT a.exam_id, e.title, e.kind, count(*) AS attempts, count(*) FILTER (WHERE {_SCORED}) AS scored,"
            f" avg(a.theta) FILTER (WHERE {_SCORED}) AS mean_theta FROM exam.attempts a"
            " JOIN exam.exams e ON e.zone_id = a.zone_id AND e.org_id = a.org_id AND e.id = a.exam_id"
            f" WHERE {_FILTER} GROUP BY a.exam_id, e.title, e.kind ORDER BY attempts DESC LIMIT 100"), p)).all()
        crit = "(a.raw_score - r.score)::float8" if criterion == "rest_score" else "a.theta"
        items = (await s.execute(text(
            "SELECT r.item_id, i.code, i.content_area, count(*) AS responses,"
            " avg(r.score::float8 / r.max_score) AS p_value,"
            f" corr(r.score::float8, {crit}) AS point_biserial"
            " FROM exam.attempts a"
            " JOIN exam.responses r ON r.zone_id = a.zone_id AND r.org_id = a.org_id AND r.attempt_id = a.id"
            "  AND r.attempt_started_at = a.started_at"
            " JOIN exam.items i ON i.zone_id = r.zone_id AND i.org_id = r.org_id AND i.id = r.item_id"
            f" WHERE {_FILTER} AND {_SCORED}"
            " GROUP BY r.item_id, i.code, i.content_area ORDER BY responses DESC, i.code LIMIT :limit"), p)).all()
    return Dashboard(
        org_id=org, exam_id=exam_id, since=since, until=until,
        totals=Totals(attempts=t.attempts, in_progress=t.in_progress, completed=t.completed, expired=t.expired,
                      students=t.students, mean_theta=_r(t.mean_theta), sd_theta=_r(t.sd_theta),
                      mean_scaled_score=_r(t.mean_scaled, 1)),
        classes=[ClassStats(class_id=c.class_id, attempts=c.attempts, scored=c.scored, students=c.students,
                            mean_theta=_r(c.mean_theta)) for c in classes],
        exams=[ExamStats(exam_id=e.exam_id, title=e.title, kind=e.kind, attempts=e.attempts, scored=e.scored,
                         mean_theta=_r(e.mean_theta)) for e in exams],
        items=[ItemStats(item_id=i.item_id, code=i.code, content_area=i.content_area, responses=i.responses,
                         p_value=round(float(i.p_value), 4), point_biserial=_r(i.point_biserial), criterion=criterion)
               for i in items])
