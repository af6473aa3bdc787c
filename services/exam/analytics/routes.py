"""HTTP face of the dashboard: `/api/v1/analytics/dashboard`."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_ID, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.exam.analytics import service
from services.exam.analytics.schemas import (
    CLASS_NOT_FOUND,
    EXAM_NOT_FOUND,
    FORBIDDEN,
    TENANT_DOWN,
    ClassStats,
    Dashboard,
    ExamStats,
    ItemStats,
    Totals,
)
from services.exam.problem_docs import ORG_BOUND

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
ReportReader = Annotated[Principal, Depends(require("report:read"))]


@router.get("/dashboard", response_model=Dashboard, summary="Org dashboard: attempts, θ by class, item statistics",
            description=service.__doc__,
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, FORBIDDEN, EXAM_NOT_FOUND, CLASS_NOT_FOUND,
                               TENANT_DOWN))
async def dashboard(principal: ReportReader, res: ResourcesDep, exam_id: uuid.UUID | None = None,
                    class_id: uuid.UUID | None = None,
                    since: dt.datetime | None = Query(None, description="attempts started at or after"),
                    until: dt.datetime | None = Query(None, description="attempts started before"),
                    item_limit: int = Query(100, ge=0, le=1000), org_id: uuid.UUID | None = ORG_ID) -> Dashboard:
    where = service.DashboardFilter(exam_id=exam_id, class_id=class_id, since=since, until=until,
                                    item_limit=item_limit)
    d = await service.dashboard(res, principal, where, org_id)
    t = d.totals
    return Dashboard(
        org_id=d.org_id, exam_id=d.exam_id, since=d.since, until=d.until,
        totals=Totals(attempts=t.attempts, in_progress=t.in_progress, completed=t.completed, expired=t.expired,
                      incomplete=t.incomplete, students=t.students, mean_theta=t.mean_theta, sd_theta=t.sd_theta,
                      mean_scaled_score=t.mean_scaled),
        classes=[ClassStats.model_validate(c) for c in d.classes],
        exams=[ExamStats.model_validate(e) for e in d.exams],
        items=[ItemStats(**vars(i), criterion=d.criterion) for i in d.items])
