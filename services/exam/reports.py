"""Student reports: `GET /api/v1/students/{student_id}/reports`.

Who sees a student's report (seed 001 §3.2.5):
- the student itself (`attempt:read`, own id only);
- a parent (`report:read`) only with an APPROVED link, checked with tenant on every request;
- teachers and org admins (`report:read`) for students of their org; zone admins name the org.
  Tenant has no teacher–class assignment yet (classes hold students, not teachers), so a teacher
  sees every student of the org — the same rule tenant applies to roster reads.
Another org's attempts are invisible (RLS): its users get an empty report, never its data.
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
from services.exam.parent_links import ensure_parent_link
from services.exam.scoring import percentiles

router = APIRouter(prefix="/api/v1/students", tags=["reports"])

_ROW = {"attempt_id": "0193c2a4-5b6c-7d8e-9f01-23456789abcd", "exam_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
        "exam_title": "Algebra placement (adaptive)", "kind": "adaptive",
        "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "status": "completed",
        "started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:21:13Z", "answered": 18, "raw_score": 12,
        "max_score": 18, "theta": 0.42, "se": 0.29, "scaled_score": 542.0, "percentile": 61.5, "estimator": "eap"}
_EXAMPLE = {"student_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "summary": {"attempts": 1, "completed": 1, "in_progress": 0, "mean_theta": 0.42,
                        "latest_scaled_score": 542.0},
            "attempts": [_ROW],
            "content_areas": [{"content_area": "algebra", "responses": 18, "mean_score": 0.67}]}


class AttemptReport(BaseModel):
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
    attempts: int
    completed: int
    in_progress: int
    mean_theta: float | None
    latest_scaled_score: float | None


class AreaScore(BaseModel):
    content_area: str
    responses: int
    mean_score: float = Field(description="mean of score / max score over the student's responses")


class StudentReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    student_id: uuid.UUID
    org_id: uuid.UUID
    summary: Summary
    attempts: list[AttemptReport] = Field(description="newest first")
    content_areas: list[AreaScore]


@router.get("/{student_id}/reports", response_model=StudentReport, summary="A student's exam results",
            description=__doc__,
            responses={**ORG_SCOPE, **DENIED,
                       **problem_response(403, "report.not_yours", "Students see their own report only"),
                       **problem_response(403, "parent_link.required", "No approved link to this student"),
                       **problem_response(503, "dependency.tenant_unavailable", "Tenant did not answer the link check")})
async def student_report(student_id: uuid.UUID, exam_id: uuid.UUID | None = None,
                         since: dt.datetime | None = Query(None, description="attempts started at or after"),
                         limit: int = Query(100, ge=1, le=500), org_id: uuid.UUID | None = ORG_ID,
                         principal: Principal = Depends(require("report:read", "attempt:read")),
                         res: Resources = Depends(resources)) -> StudentReport:
    org = acting_org(principal, org_id)
    if principal.role == "student":
        if student_id != principal.user_id:
            raise AppError(403, "report.not_yours", "students see their own report only")
    elif principal.role == "parent":
        await ensure_parent_link(res, principal, org, student_id)
    elif not is_staff(principal):
        raise AppError(403, "auth.permission_denied", f"role {principal.role} may not read reports")
    params = {"z": principal.zone_id, "o": org, "st": student_id, "exam": exam_id, "since": since, "limit": limit}
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = (await s.execute(text(
            "SELECT a.id AS attempt_id, a.exam_id, e.title AS exam_title, a.kind, a.class_id, a.status, a.started_at,"
            " a.ended_at, a.n_responses AS answered, a.raw_score, a.max_score,"
            " CASE WHEN a.status = 'in_progress' THEN NULL ELSE a.theta END AS theta,"
            " CASE WHEN a.status = 'in_progress' THEN NULL ELSE a.se END AS se, a.scaled_score, a.estimator"
            " FROM exam.attempts a JOIN exam.exams e ON e.zone_id = a.zone_id AND e.org_id = a.org_id AND e.id = a.exam_id"
            " WHERE a.zone_id = :z AND a.org_id = :o AND a.student_id = :st"
            " AND (CAST(:exam AS uuid) IS NULL OR a.exam_id = :exam)"
            " AND (CAST(:since AS timestamptz) IS NULL OR a.started_at >= :since)"
            " ORDER BY a.started_at DESC LIMIT :limit"), params)).all()
        scored = [(r.exam_id, r.theta) for r in rows if r.theta is not None]
        pct = await percentiles(s, principal.zone_id, org, scored)
        areas = (await s.execute(text(
            "SELECT i.content_area, count(*) AS responses, avg(r.score::float8 / r.max_score) AS mean_score"
            " FROM exam.attempts a"
            " JOIN exam.responses r ON r.zone_id = a.zone_id AND r.org_id = a.org_id AND r.attempt_id = a.id"
            "  AND r.attempt_started_at = a.started_at"
            " JOIN exam.items i ON i.zone_id = r.zone_id AND i.org_id = r.org_id AND i.id = r.item_id"
            " WHERE a.zone_id = :z AND a.org_id = :o AND a.student_id = :st"
            " AND (CAST(:exam AS uuid) IS NULL OR a.exam_id = :exam)"
            " AND (CAST(:since AS timestamptz) IS NULL OR a.started_at >= :since)"
            " GROUP BY i.content_area ORDER BY i.content_area"), params)).all()
    attempts = [AttemptReport(**r._mapping, percentile=pct.get((r.exam_id, r.theta))) for r in rows]
    thetas = [a.theta for a in attempts if a.theta is not None]
    finished = [a for a in attempts if a.status != "in_progress"]
    return StudentReport(
        student_id=student_id, org_id=org,
        summary=Summary(attempts=len(attempts), completed=len(finished),
                        in_progress=sum(1 for a in attempts if a.status == "in_progress"),
                        mean_theta=round(sum(thetas) / len(thetas), 4) if thetas else None,
                        latest_scaled_score=finished[0].scaled_score if finished else None),
        attempts=attempts,
        content_areas=[AreaScore(content_area=a.content_area, responses=a.responses,
                                 mean_score=round(float(a.mean_score), 4)) for a in areas])
