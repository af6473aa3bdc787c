"""The org dashboard: `GET /api/v1/analytics/dashboard` for teachers and org admins
(`report:read`; zone admins name the org; parents are refused).

Org admins and zone admins see the whole org. A teacher sees only attempts made in the classes
it is assigned to (asked of tenant on every request; tenant down is 503
`dependency.tenant_unavailable`); its `class_id` must be one of them, else 404 `class.not_found`.

- totals: attempts by status, distinct students, mean / SD of θ, mean scaled score;
- per class (the class the exam was set for): attempts, students, mean θ;
- per exam: attempts, completions, mean θ;
- classical item statistics over scored attempts: responses, p-value (mean score / max score)
  and point-biserial — the correlation of the item score with the rest score (total minus the
  item) on a fixed exam, or with θ on an adaptive exam or across exams (where totals of
  different item sets are not comparable).
Only counted (completed or expired) attempts enter θ means, `scored` counts and item
statistics; an `incomplete` attempt (adaptive, ended before its `min_items`) is counted
apart (`incomplete`) and never enters an average (honest scores, issue #13).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

from megacity.auth.org_scope import acting_org, is_staff, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.exam.analytics import queries
from services.exam.analytics.queries import ClassRow, DashboardFilter, ExamRow, ItemRow, TotalsRow
from services.exam.exam_store import load_exam
from services.exam.teacher_classes import class_not_found, teacher_class_ids

__all__ = ["DashboardFilter", "DashboardResult", "dashboard"]


@dataclass(frozen=True)
class DashboardResult:
    org_id: uuid.UUID
    exam_id: uuid.UUID | None
    since: dt.datetime | None
    until: dt.datetime | None
    totals: TotalsRow
    classes: list[ClassRow]
    exams: list[ExamRow]
    items: list[ItemRow]
    criterion: Literal["rest_score", "theta"]


def _r(value: float | None, nd: int = 4) -> float | None:
    return None if value is None else round(float(value), nd)


def _rounded(t: TotalsRow, classes: list[ClassRow], exams: list[ExamRow],
             items: list[ItemRow]) -> tuple[TotalsRow, list[ClassRow], list[ExamRow], list[ItemRow]]:
    return (TotalsRow(t.attempts, t.in_progress, t.completed, t.expired, t.incomplete, t.students, _r(t.mean_theta),
                      _r(t.sd_theta), _r(t.mean_scaled, 1)),
            [ClassRow(c.class_id, c.attempts, c.scored, c.students, _r(c.mean_theta)) for c in classes],
            [ExamRow(e.exam_id, e.title, e.kind, e.attempts, e.scored, e.incomplete, _r(e.mean_theta)) for e in exams],
            [ItemRow(i.item_id, i.code, i.content_area, i.responses, round(float(i.p_value), 4),
                     _r(i.point_biserial)) for i in items])


async def _teacher_scope(res: Resources, principal: Principal, org: uuid.UUID,
                         where: DashboardFilter) -> DashboardFilter:
    """The teacher's classes as the filter's scope; before any transaction (gRPC)."""
    allowed = await teacher_class_ids(res, principal.zone_id, org, principal.user_id)
    if where.class_id is not None and where.class_id not in allowed:
        raise class_not_found(where.class_id)
    return dataclasses.replace(where, class_ids=tuple(allowed))


async def dashboard(res: Resources, principal: Principal, where: DashboardFilter,
                    org_id: uuid.UUID | None = None) -> DashboardResult:
    """Staff only (403 `analytics.forbidden` otherwise). With `exam_id`, a fixed exam's items
    are correlated with the rest score, an adaptive exam's with θ; without, always with θ."""
    if not is_staff(principal):
        raise AppError(403, "analytics.forbidden", "the dashboard is for teachers and admins")
    org = acting_org(principal, org_id)
    if principal.role == "teacher":
        where = await _teacher_scope(res, principal, org, where)
    criterion: Literal["rest_score", "theta"] = "theta"
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        if where.exam_id is not None:
            exam = await load_exam(s, principal.zone_id, org, where.exam_id)
            criterion = "rest_score" if exam.kind == "fixed" else "theta"
        totals = await queries.totals(s, principal.zone_id, org, where)
        classes = await queries.by_class(s, principal.zone_id, org, where)
        exams = await queries.by_exam(s, principal.zone_id, org, where)
        items = await queries.item_statistics(s, principal.zone_id, org, where, criterion)
    totals, classes, exams, items = _rounded(totals, classes, exams, items)
    return DashboardResult(org_id=org, exam_id=where.exam_id, since=where.since, until=where.until, totals=totals,
                           classes=classes, exams=exams, items=items, criterion=criterion)
