"""HTTP: `GET /api/v1/exams/{exam_id}/attempts` (teachers' and admins' view of an exam)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_ID, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.exam.attempt_lists import service
from services.exam.attempt_lists.schemas import ExamAttemptPage, ExamAttemptRow, ListStatus
from services.exam.attempt_lists.service import ListFilter

router = APIRouter(prefix="/api/v1/exams", tags=["attempts"])
# Staff with `report:read` (teachers, org and zone admins); the service refuses parents.
AttemptListReader = Annotated[Principal, Depends(require("report:read"))]

ERRORS = problems(
    ORG_SCOPE, DENIED,
    (404, "exam.not_found", "No such exam in your org"),
    (404, "class.not_found", "No such class in your org, or not one of your classes"),
    (400, "request.invalid_cursor", "A cursor this listing did not issue"),
    (422, "attempt_list.class_required", "`not_started` needs a class and the exam is set for none"),
    (422, "request.invalid", "Request failed validation"),
    (503, "dependency.tenant_unavailable", "Tenant (classes, roster) did not answer"),
    (503, "dependency.auth_unavailable", "Auth (student names) did not answer"),
)


@router.get("/{exam_id}/attempts", response_model=ExamAttemptPage, summary="Attempts of an exam, with student names",
            description="Newest first, in cursor pages. `class_id` and `status` filter; `status=not_started` lists "
                        "the students of the class (`class_id`, else the exam's class) who have no attempt, by name. "
                        "Org admins see the whole org; a teacher only the classes it is assigned to (another "
                        "class is 404). Another org's exam is 404.", responses=ERRORS)
async def list_exam_attempts(exam_id: uuid.UUID, principal: AttemptListReader, res: ResourcesDep,
                             class_id: uuid.UUID | None = Query(None, description="Only attempts made in this class"),
                             status: ListStatus | None = Query(None, description="Attempt status, or `not_started`"),
                             limit: int = Query(50, ge=1, le=200), cursor: str | None = Query(
                                 None, max_length=2048, description="`next_cursor` of the previous page"),
                             org_id: uuid.UUID | None = ORG_ID) -> ExamAttemptPage:
    page = await service.list_exam_attempts(res, principal, org_id, exam_id, ListFilter(class_id, status), limit, cursor)
    return ExamAttemptPage(items=[ExamAttemptRow.model_validate(i) for i in page.items], next_cursor=page.next_cursor)
