"""SQL of the dashboard: aggregates over the org's attempts (raw values; the service rounds)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.exam.attempt_store import COUNTED_SQL

_FILTER = (" a.zone_id = :z AND a.org_id = :o AND (CAST(:exam AS uuid) IS NULL OR a.exam_id = :exam)"
           " AND (CAST(:class_id AS uuid) IS NULL OR a.class_id = :class_id)"
           " AND (CAST(:since AS timestamptz) IS NULL OR a.started_at >= :since)"
           " AND (CAST(:until AS timestamptz) IS NULL OR a.started_at < :until)"
           " AND (NOT CAST(:scoped AS boolean) OR a.class_id = ANY(CAST(:class_ids AS uuid[])))")
# Only counted attempts enter θ means and item statistics: never an in-progress or `incomplete` one.
_SCORED = COUNTED_SQL


@dataclass(frozen=True)
class DashboardFilter:
    exam_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    item_limit: int = 100
    class_ids: tuple[uuid.UUID, ...] | None = None  # a teacher's scope: only these classes (None: no scope)


@dataclass(frozen=True)
class TotalsRow:
    attempts: int
    in_progress: int
    completed: int
    expired: int
    incomplete: int
    students: int
    mean_theta: float | None
    sd_theta: float | None
    mean_scaled: float | None


@dataclass(frozen=True)
class ClassRow:
    class_id: uuid.UUID | None
    attempts: int
    scored: int
    students: int
    mean_theta: float | None


@dataclass(frozen=True)
class ExamRow:
    exam_id: uuid.UUID
    title: str
    kind: str
    attempts: int
    scored: int
    incomplete: int
    mean_theta: float | None


@dataclass(frozen=True)
class ItemRow:
    item_id: uuid.UUID
    code: str
    content_area: str
    responses: int
    p_value: float
    point_biserial: float | None


def _params(zone_id: int, org_id: uuid.UUID, f: DashboardFilter) -> dict[str, object]:
    return {"z": zone_id, "o": org_id, "exam": f.exam_id, "class_id": f.class_id, "since": f.since,
            "until": f.until, "limit": f.item_limit, "scoped": f.class_ids is not None,
            "class_ids": list(f.class_ids or [])}


async def totals(s: AsyncSession, zone_id: int, org_id: uuid.UUID, f: DashboardFilter) -> TotalsRow:
    row = (await s.execute(text(
        "SELECT count(*) AS attempts, count(*) FILTER (WHERE a.status = 'in_progress') AS in_progress,"
        " count(*) FILTER (WHERE a.status = 'completed') AS completed,"
        " count(*) FILTER (WHERE a.status = 'expired') AS expired,"
        " count(*) FILTER (WHERE a.status = 'incomplete') AS incomplete, count(DISTINCT a.student_id) AS students,"
        f" avg(a.theta) FILTER (WHERE {_SCORED}) AS mean_theta,"
        f" stddev_samp(a.theta) FILTER (WHERE {_SCORED}) AS sd_theta,"
        f" avg(a.scaled_score) FILTER (WHERE {_SCORED}) AS mean_scaled"
        f" FROM exam.attempts a WHERE {_FILTER}"), _params(zone_id, org_id, f))).one()
    return TotalsRow(**row._mapping)


async def by_class(s: AsyncSession, zone_id: int, org_id: uuid.UUID, f: DashboardFilter) -> list[ClassRow]:
    rows = (await s.execute(text(
        f"SELECT a.class_id, count(*) AS attempts, count(*) FILTER (WHERE {_SCORED}) AS scored,"
        f" count(DISTINCT a.student_id) AS students, avg(a.theta) FILTER (WHERE {_SCORED}) AS mean_theta"
        f" FROM exam.attempts a WHERE {_FILTER} GROUP BY a.class_id ORDER BY attempts DESC LIMIT 200"),
        _params(zone_id, org_id, f))).all()
    return [ClassRow(**r._mapping) for r in rows]


async def by_exam(s: AsyncSession, zone_id: int, org_id: uuid.UUID, f: DashboardFilter) -> list[ExamRow]:
    rows = (await s.execute(text(
        f"SELECT a.exam_id, e.title, e.kind, count(*) AS attempts, count(*) FILTER (WHERE {_SCORED}) AS scored,"
        " count(*) FILTER (WHERE a.status = 'incomplete') AS incomplete,"
        f" avg(a.theta) FILTER (WHERE {_SCORED}) AS mean_theta FROM exam.attempts a"
        " JOIN exam.exams e ON e.zone_id = a.zone_id AND e.org_id = a.org_id AND e.id = a.exam_id"
        f" WHERE {_FILTER} GROUP BY a.exam_id, e.title, e.kind ORDER BY attempts DESC LIMIT 100"),
        _params(zone_id, org_id, f))).all()
    return [ExamRow(**r._mapping) for r in rows]


async def item_statistics(s: AsyncSession, zone_id: int, org_id: uuid.UUID, f: DashboardFilter,
                          criterion: Literal["rest_score", "theta"]) -> list[ItemRow]:
    """p-value and point-biserial against the rest score or θ, over scored attempts."""
    crit = "(a.raw_score - r.score)::float8" if criterion == "rest_score" else "a.theta"
    rows = (await s.execute(text(
        "SELECT r.item_id, i.code, i.content_area, count(*) AS responses,"
        " avg(r.score::float8 / r.max_score) AS p_value,"
        f" corr(r.score::float8, {crit}) AS point_biserial"
        " FROM exam.attempts a"
        " JOIN exam.responses r ON r.zone_id = a.zone_id AND r.org_id = a.org_id AND r.attempt_id = a.id"
        "  AND r.attempt_started_at = a.started_at"
        " JOIN exam.items i ON i.zone_id = r.zone_id AND i.org_id = r.org_id AND i.id = r.item_id"
        f" WHERE {_FILTER} AND {_SCORED}"
        " GROUP BY r.item_id, i.code, i.content_area ORDER BY responses DESC, i.code LIMIT :limit"),
        _params(zone_id, org_id, f))).all()
    return [ItemRow(**r._mapping) for r in rows]
