"""Student reports: `GET /api/v1/students/{student_id}/reports`.

Who sees a student's report (seed 001 §3.2.5):
- the student itself (`attempt:read`, own id only);
- a parent (`report:read`) only with an APPROVED link, checked with tenant on every request;
- a teacher (`report:read`) only for a student on the live roster of a class it is assigned to
  (tenant's `ListTeacherClasses` and `ListClassStudents`, asked per request; else 403
  `report.not_yours`; tenant down 503) — the rule tenant applies to roster reads;
- org admins (`report:read`) for students of their org; zone admins name the org.
Another org's attempts are invisible (RLS): its users get an empty report, never its data.

Honest scores (issue #13): every attempt is listed, an `incomplete` one (adaptive, ended before
its `min_items`) with its θ and SE, `counted: false` and no percentile. The summary — mean θ,
the latest scaled score — and the content areas use counted (`completed` / `expired`) attempts
only. A percentile is null with `percentile_unavailable` (`in_progress`, `attempt_incomplete`,
`norm_group_too_small`) unless the exam's norm group holds at least `EXAM_MIN_NORM_GROUP`
counted attempts.
"""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from megacity.auth.org_scope import acting_org, is_staff, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.exam.attempt_store import COUNTED_STATUSES
from services.exam.parent_links import ensure_parent_link
from services.exam.reports import queries
from services.exam.reports.queries import AreaLine, AttemptLine, ReportFilter
from services.exam.scoring import min_norm_group, norm_ranks, rank_of
from services.exam.teacher_classes import teaches_student


@dataclass(frozen=True)
class ReportAttempt(AttemptLine):
    counted: bool = False
    percentile: float | None = None
    percentile_unavailable: str | None = None  # scoring.PercentileUnavailable
    norm_group_size: int | None = None


@dataclass(frozen=True)
class ReportSummary:
    attempts: int
    completed: int  # counted: completed or expired
    incomplete: int
    in_progress: int
    mean_theta: float | None
    latest_scaled_score: float | None


@dataclass(frozen=True)
class Report:
    student_id: uuid.UUID
    org_id: uuid.UUID
    summary: ReportSummary
    attempts: list[ReportAttempt]
    content_areas: list[AreaLine]


async def _may_read(res: Resources, principal: Principal, org: uuid.UUID, student_id: uuid.UUID) -> None:
    if principal.role == "student":
        if student_id != principal.user_id:
            raise AppError(403, "report.not_yours", "students see their own report only")
    elif principal.role == "parent":
        await ensure_parent_link(res, principal, org, student_id)  # gRPC, before any transaction
    elif not is_staff(principal):
        raise AppError(403, "auth.permission_denied", f"role {principal.role} may not read reports")
    elif principal.role == "teacher":  # gRPC, before any transaction
        if not await teaches_student(res, principal.zone_id, org, principal.user_id, student_id):
            raise AppError(403, "report.not_yours", "teachers see the reports of the students of their classes only")


async def student_report(res: Resources, principal: Principal, where: ReportFilter,
                         org_id: uuid.UUID | None = None) -> Report:
    org = acting_org(principal, org_id)
    await _may_read(res, principal, org, where.student_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = await queries.student_attempts(s, principal.zone_id, org, where)
        ranks = await norm_ranks(s, principal.zone_id, org, [(r.exam_id, r.theta) for r in rows if r.theta is not None],
                                 min_group=min_norm_group(res))
        areas = await queries.content_areas(s, principal.zone_id, org, where)
    attempts = []
    for r in rows:
        rank = rank_of(ranks, r.status, r.exam_id, r.theta)
        attempts.append(ReportAttempt(**dataclasses.asdict(r), counted=r.status in COUNTED_STATUSES,
                                      percentile=rank.percentile, percentile_unavailable=rank.unavailable,
                                      norm_group_size=rank.norm_group))
    counted = [a for a in attempts if a.counted]  # newest first
    thetas = [a.theta for a in counted if a.theta is not None]
    return Report(
        student_id=where.student_id, org_id=org,
        summary=ReportSummary(attempts=len(attempts), completed=len(counted),
                              incomplete=sum(1 for a in attempts if a.status == "incomplete"),
                              in_progress=sum(1 for a in attempts if a.status == "in_progress"),
                              mean_theta=round(sum(thetas) / len(thetas), 4) if thetas else None,
                              latest_scaled_score=counted[0].scaled_score if counted else None),
        attempts=attempts, content_areas=areas)
