"""HTTP: /api/v1/classes and /api/v1/classes/{class_id}/teachers."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.tenant.access import ORG_ID, ORG_NOT_ACTIVE
from services.tenant.classes import service
from services.tenant.classes.queries import ClassTeacherRow
from services.tenant.classes.schemas import ClassIn, ClassList, ClassOut, ClassPatch, ClassTeacherList, ClassTeacherOut

router = APIRouter(prefix="/api/v1/classes", tags=["classes"])

# Staff read classes (`class:read`); a teacher only its assigned ones. `student:read` lets teachers
# in while tokens minted before `class:read` joined the teacher's grants are alive; the service
# refuses non-staff holders of it (parents).
ClassReader = Annotated[Principal, Depends(require("class:read", "student:read"))]
ClassCreator = Annotated[Principal, Depends(require("class:create"))]
ClassUpdater = Annotated[Principal, Depends(require("class:update"))]
ClassDeleter = Annotated[Principal, Depends(require("class:delete"))]
NOT_FOUND = (404, "class.not_found", "No such class in your org")
EXISTS = (409, "class.exists", "A class with this grade and name exists")
NOT_MEMBER = (422, "class.teacher_not_member", "The user is not a teacher member of this org")
NOT_ASSIGNED = (404, "class.teacher_not_assigned", "The teacher is not assigned to this class")
INVALID = (422, "request.invalid", "Request failed validation")


@router.get("", response_model=ClassList, summary="Classes of your org",
            description="Org admins see every class; a teacher sees the classes it is assigned to.",
            responses=problems(ORG_SCOPE, DENIED))
async def list_classes(principal: ClassReader, res: ResourcesDep, grade: int | None = Query(None, ge=1, le=20),
                       org_id: uuid.UUID | None = ORG_ID) -> ClassList:
    rows = await service.list_classes(res, principal, org_id, grade)
    return ClassList(items=[ClassOut.model_validate(r) for r in rows])


@router.post("", status_code=201, response_model=ClassOut, summary="Create a class",
             responses=problems(ORG_SCOPE, DENIED, EXISTS, ORG_NOT_ACTIVE))
async def create_class(body: ClassIn, principal: ClassCreator, res: ResourcesDep,
                       org_id: uuid.UUID | None = ORG_ID) -> ClassOut:
    return ClassOut.model_validate(await service.create_class(res, principal, org_id, body))


@router.get("/{class_id}", response_model=ClassOut, summary="One class",
            description="A teacher reads only a class it is assigned to (another one is 404).",
            responses=problems(ORG_SCOPE, DENIED, NOT_FOUND))
async def get_class(class_id: uuid.UUID, principal: ClassReader, res: ResourcesDep,
                    org_id: uuid.UUID | None = ORG_ID) -> ClassOut:
    return ClassOut.model_validate(await service.get_class(res, principal, org_id, class_id))


@router.patch("/{class_id}", response_model=ClassOut, summary="Rename or regrade a class",
              responses=problems(ORG_SCOPE, DENIED, NOT_FOUND, EXISTS))
async def update_class(class_id: uuid.UUID, body: ClassPatch, principal: ClassUpdater, res: ResourcesDep,
                       org_id: uuid.UUID | None = ORG_ID) -> ClassOut:
    return ClassOut.model_validate(await service.update_class(res, principal, org_id, class_id, body))


@router.delete("/{class_id}", status_code=204, response_class=Response, summary="Delete a class",
               description="Its students stay, without a class.", responses=problems(ORG_SCOPE, DENIED, NOT_FOUND))
async def delete_class(class_id: uuid.UUID, principal: ClassDeleter, res: ResourcesDep,
                       org_id: uuid.UUID | None = ORG_ID) -> Response:
    await service.delete_class(res, principal, org_id, class_id)
    return Response(status_code=204)


def _teachers(rows: list[ClassTeacherRow]) -> ClassTeacherList:
    return ClassTeacherList(items=[ClassTeacherOut.model_validate(r) for r in rows])


@router.get("/{class_id}/teachers", response_model=ClassTeacherList, summary="Teachers assigned to a class",
            description="A teacher reads this only for a class it is assigned to.",
            responses=problems(ORG_SCOPE, DENIED, NOT_FOUND))
async def list_class_teachers(class_id: uuid.UUID, principal: ClassReader, res: ResourcesDep,
                              org_id: uuid.UUID | None = ORG_ID) -> ClassTeacherList:
    return _teachers(await service.list_class_teachers(res, principal, org_id, class_id))


@router.put("/{class_id}/teachers/{user_id}", response_model=ClassTeacherList,
            summary="Assign a teacher to a class",
            description="The user must be a `teacher` member of the org. Idempotent: answers the class's "
                        "teachers either way (201 when the assignment is new, 200 when it existed).",
            status_code=200, responses={201: {"description": "Assigned (new)", "model": ClassTeacherList},
                                        **problems(ORG_SCOPE, DENIED, NOT_FOUND, NOT_MEMBER, INVALID, ORG_NOT_ACTIVE)})
async def assign_teacher(class_id: uuid.UUID, user_id: uuid.UUID, principal: ClassUpdater, res: ResourcesDep,
                         response: Response, org_id: uuid.UUID | None = ORG_ID) -> ClassTeacherList:
    rows, created = await service.assign_teacher(res, principal, org_id, class_id, user_id)
    if created:
        response.status_code = 201
    return _teachers(rows)


@router.delete("/{class_id}/teachers/{user_id}", status_code=204, response_class=Response,
               summary="Unassign a teacher from a class", responses=problems(ORG_SCOPE, DENIED, NOT_FOUND, NOT_ASSIGNED))
async def unassign_teacher(class_id: uuid.UUID, user_id: uuid.UUID, principal: ClassUpdater, res: ResourcesDep,
                           org_id: uuid.UUID | None = ORG_ID) -> Response:
    await service.unassign_teacher(res, principal, org_id, class_id, user_id)
    return Response(status_code=204)
