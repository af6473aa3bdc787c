"""HTTP face of student reports: `/api/v1/students/{student_id}/reports`."""
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
from services.exam.problem_docs import ORG_BOUND, PARENT_LINK
from services.exam.reports import service
from services.exam.reports.schemas import NOT_YOURS, TENANT_DOWN, StudentReport

router = APIRouter(prefix="/api/v1/students", tags=["reports"])
ReportReader = Annotated[Principal, Depends(require("report:read", "attempt:read"))]


@router.get("/{student_id}/reports", response_model=StudentReport, summary="A student's exam results",
            description=service.__doc__,
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_YOURS, PARENT_LINK, TENANT_DOWN))
async def student_report(student_id: uuid.UUID, principal: ReportReader, res: ResourcesDep,
                         exam_id: uuid.UUID | None = None,
                         since: dt.datetime | None = Query(None, description="attempts started at or after"),
                         limit: int = Query(100, ge=1, le=500), org_id: uuid.UUID | None = ORG_ID) -> StudentReport:
    where = service.ReportFilter(student_id=student_id, exam_id=exam_id, since=since, limit=limit)
    return StudentReport.model_validate(await service.student_report(res, principal, where, org_id))
