"""HTTP: /api/v1/classes."""
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
from services.tenant.classes.schemas import ClassIn, ClassList, ClassOut, ClassPatch

router = APIRouter(prefix="/api/v1/classes", tags=["classes"])

ClassReader = Annotated[Principal, Depends(require("class:read"))]
ClassCreator = Annotated[Principal, Depends(require("class:create"))]
ClassUpdater = Annotated[Principal, Depends(require("class:update"))]
ClassDeleter = Annotated[Principal, Depends(require("class:delete"))]
NOT_FOUND = (404, "class.not_found", "No such class in your org")
EXISTS = (409, "class.exists", "A class with this grade and name exists")


@router.get("", response_model=ClassList, summary="Classes of your org", responses=problems(ORG_SCOPE, DENIED))
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
