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

import dataclasses
import uuid
from dataclasses import dataclass

from megacity.auth.org_scope import acting_org, is_staff, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.exam.parent_links import ensure_parent_link
from services.exam.reports import queries
from services.exam.reports.queries import AreaLine, AttemptLine, ReportFilter
from services.exam.scoring import percentiles


@dataclass(frozen=True)
class ReportAttempt(AttemptLine):
    percentile: float | None = None


@dataclass(frozen=True)
class ReportSummary:
    attempts: int
    completed: int
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


async def student_report(res: Resources, principal: Principal, where: ReportFilter,
                         org_id: uuid.UUID | None = None) -> Report:
    org = acting_org(principal, org_id)
    await _may_read(res, principal, org, where.student_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = await queries.student_attempts(s, principal.zone_id, org, where)
        pct = await percentiles(s, principal.zone_id, org, [(r.exam_id, r.theta) for r in rows if r.theta is not None])
        areas = await queries.content_areas(s, principal.zone_id, org, where)
    attempts = [ReportAttempt(**dataclasses.asdict(r), percentile=pct.get((r.exam_id, r.theta)) if r.theta is not None
                              else None) for r in rows]
    thetas = [a.theta for a in attempts if a.theta is not None]
    finished = [a for a in attempts if a.status != "in_progress"]
    return Report(
        student_id=where.student_id, org_id=org,
        summary=ReportSummary(attempts=len(attempts), completed=len(finished),
                              in_progress=sum(1 for a in attempts if a.status == "in_progress"),
                              mean_theta=round(sum(thetas) / len(thetas), 4) if thetas else None,
                              latest_scaled_score=finished[0].scaled_score if finished else None),
        attempts=attempts, content_areas=areas)
