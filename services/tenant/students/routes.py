"""HTTP: /api/v1/rosters/students."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problem_response, problems
from megacity.runtime import ResourcesDep
from services.tenant import listing
from services.tenant.access import ORG_ID, ORG_NOT_ACTIVE
from services.tenant.listing import PageRequest
from services.tenant.pii import PII_UNAVAILABLE
from services.tenant.students import service
from services.tenant.students.queries import StudentFilter
from services.tenant.students.schemas import StudentIn, StudentList, StudentOut, StudentPatch

router = APIRouter(prefix="/api/v1/rosters/students", tags=["students"])

# Teachers read the roster with `student:read`, org admins with `user:read` (parents: `student:read`).
RosterReader = Annotated[Principal, Depends(require("student:read", "user:read"))]
RosterCreator = Annotated[Principal, Depends(require("user:create"))]
RosterUpdater = Annotated[Principal, Depends(require("user:update"))]
NOT_FOUND = (404, "student.not_found", "No such student in your org")
EXISTS = (409, "student.exists", "A student with this name and parent phone exists")
CLASS_NOT_FOUND = (422, "class.not_found", "No such class in your org")
# A route documenting its own 422 replaces the app-wide one: keep the validation error listed.
INVALID = (422, "request.invalid", "Request failed validation")


@router.get("", response_model=StudentList, summary="Students of your org",
            description="Org admins see the roster; a teacher only the students of the classes it is assigned to; "
                        "a parent only its approved-linked children. Unknown query parameters are refused (400).",
            responses=problems(ORG_SCOPE, DENIED, PII_UNAVAILABLE, listing.PAGING_ERRORS))
async def list_students(principal: RosterReader, res: ResourcesDep, grade: int | None = Query(None, ge=1, le=20),
                        class_id: uuid.UUID | None = None,
                        name: str | None = Query(None, max_length=100, description="Name prefix"),
                        limit: int = Query(100, ge=1, le=1000), offset: int = listing.OFFSET,
                        cursor: str | None = listing.CURSOR, org_id: uuid.UUID | None = ORG_ID) -> StudentList:
    page = await service.list_students(res, principal, org_id, StudentFilter(grade, class_id, name),
                                       PageRequest(limit, offset, cursor))
    return StudentList(items=[StudentOut.model_validate(r) for r in page.items], total=page.total,
                       next_cursor=page.next_cursor)


@router.post("", status_code=201, response_model=StudentOut, summary="Add a student to the roster",
             responses=problems(ORG_SCOPE, DENIED, PII_UNAVAILABLE, EXISTS, ORG_NOT_ACTIVE,
                                INVALID, CLASS_NOT_FOUND))
async def create_student(body: StudentIn, principal: RosterCreator, res: ResourcesDep,
                         org_id: uuid.UUID | None = ORG_ID) -> StudentOut:
    return StudentOut.model_validate(await service.create_student(res, principal, org_id, body))


@router.get("/{student_id}", response_model=StudentOut, summary="One student",
            responses=problems(ORG_SCOPE, DENIED, PII_UNAVAILABLE, NOT_FOUND))
async def get_student(student_id: uuid.UUID, principal: RosterReader, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> StudentOut:
    return StudentOut.model_validate(await service.get_student(res, principal, org_id, student_id))


@router.patch("/{student_id}", response_model=StudentOut, summary="Update a student",
              responses=problems(ORG_SCOPE, DENIED, PII_UNAVAILABLE, NOT_FOUND, EXISTS, INVALID, CLASS_NOT_FOUND,
                                 problem_response(400, "student.invalid", "name, grade and parent_phone cannot be null",
                                                  "grade cannot be null")))
async def update_student(student_id: uuid.UUID, body: StudentPatch, principal: RosterUpdater, res: ResourcesDep,
                         org_id: uuid.UUID | None = ORG_ID) -> StudentOut:
    return StudentOut.model_validate(await service.update_student(res, principal, org_id, student_id, body))


@router.delete("/{student_id}", status_code=204, response_class=Response, summary="Remove a student (soft delete)",
               description="The record is kept with `deleted_at`; importing the same name and parent phone "
                           "restores it.", responses=problems(ORG_SCOPE, DENIED, NOT_FOUND))
async def delete_student(student_id: uuid.UUID, principal: RosterUpdater, res: ResourcesDep,
                         org_id: uuid.UUID | None = ORG_ID) -> Response:
    await service.delete_student(res, principal, org_id, student_id)
    return Response(status_code=204)
