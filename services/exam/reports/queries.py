"""SQL of the student report: the student's attempts and their content-area scores."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.exam.attempt_store import COUNTED_SQL

_WHERE = (" WHERE a.zone_id = :z AND a.org_id = :o AND a.student_id = :st"
          " AND (CAST(:exam AS uuid) IS NULL OR a.exam_id = :exam)"
          " AND (CAST(:since AS timestamptz) IS NULL OR a.started_at >= :since)")


@dataclass(frozen=True)
class AttemptLine:
    """One attempt as the report lists it (θ and SE hidden while in progress; shown for an
    `incomplete` one, which the summary and the content areas leave out)."""

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
    estimator: str | None
    stop_reason: str | None


@dataclass(frozen=True)
class AreaLine:
    content_area: str
    responses: int
    mean_score: float


@dataclass(frozen=True)
class ReportFilter:
    student_id: uuid.UUID
    exam_id: uuid.UUID | None
    since: dt.datetime | None
    limit: int


def _params(zone_id: int, org_id: uuid.UUID, f: ReportFilter) -> dict[str, object]:
    return {"z": zone_id, "o": org_id, "st": f.student_id, "exam": f.exam_id, "since": f.since, "limit": f.limit}


async def student_attempts(s: AsyncSession, zone_id: int, org_id: uuid.UUID, f: ReportFilter) -> list[AttemptLine]:
    """Newest first, at most `f.limit`."""
    rows = (await s.execute(text(
        "SELECT a.id AS attempt_id, a.exam_id, e.title AS exam_title, a.kind, a.class_id, a.status, a.started_at,"
        " a.ended_at, a.n_responses AS answered, a.raw_score, a.max_score,"
        " CASE WHEN a.status = 'in_progress' THEN NULL ELSE a.theta END AS theta,"
        " CASE WHEN a.status = 'in_progress' THEN NULL ELSE a.se END AS se, a.scaled_score, a.estimator,"
        " a.stop_reason"
        " FROM exam.attempts a JOIN exam.exams e ON e.zone_id = a.zone_id AND e.org_id = a.org_id AND e.id = a.exam_id"
        + _WHERE + " ORDER BY a.started_at DESC LIMIT :limit"), _params(zone_id, org_id, f))).all()
    return [AttemptLine(**r._mapping) for r in rows]


async def content_areas(s: AsyncSession, zone_id: int, org_id: uuid.UUID, f: ReportFilter) -> list[AreaLine]:
    """Mean of score / max score per content area over the student's responses in counted
    attempts (an in-progress or incomplete attempt is no measure yet)."""
    rows = (await s.execute(text(
        "SELECT i.content_area, count(*) AS responses, avg(r.score::float8 / r.max_score) AS mean_score"
        " FROM exam.attempts a"
        " JOIN exam.responses r ON r.zone_id = a.zone_id AND r.org_id = a.org_id AND r.attempt_id = a.id"
        "  AND r.attempt_started_at = a.started_at"
        " JOIN exam.items i ON i.zone_id = r.zone_id AND i.org_id = r.org_id AND i.id = r.item_id"
        + _WHERE + f" AND {COUNTED_SQL} GROUP BY i.content_area ORDER BY i.content_area"),
        _params(zone_id, org_id, f))).all()
    return [AreaLine(r.content_area, r.responses, round(float(r.mean_score), 4)) for r in rows]
