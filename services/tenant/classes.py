"""Classes of an org (grade + name, unique per org). Org admins manage them (`class:*`).

The org is the caller's own; zone-level callers name it with `?org_id=`.
"""
from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.runtime import Resources, resources
from services.tenant.access import DENIED, ORG_SCOPE, acting_org, ensure_org, org_context
from services.tenant.fields import Grade, Name

router = APIRouter(prefix="/api/v1/classes", tags=["classes"])

_EXAMPLE = {"id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "grade": 10, "name": "10-A", "student_count": 28, "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-01T09:00:00Z"}
NOT_FOUND = problem_response(404, "class.not_found", "No such class in your org")
EXISTS = problem_response(409, "class.exists", "A class with this grade and name exists")
ORG_ID = Query(None, description="Zone-level callers: the org to act on (others: their own org)")
_SELECT = ("SELECT c.id, c.org_id, c.grade, c.name, c.created_at, c.updated_at,"
           " (SELECT count(*) FROM tenant.students s WHERE s.zone_id = c.zone_id AND s.org_id = c.org_id"
           "  AND s.class_id = c.id AND s.deleted_at IS NULL) AS student_count FROM tenant.classes c")


class ClassIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grade": 10, "name": "10-A"}]})

    grade: Grade
    name: Name


class ClassPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "10-B"}]})

    grade: Grade | None = None
    name: Name | None = None


class ClassOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    grade: int
    name: str
    student_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ClassList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[ClassOut]


async def _one(s, zone_id: int, org: uuid.UUID, class_id: uuid.UUID) -> ClassOut:
    row = (await s.execute(text(f"{_SELECT} WHERE c.zone_id = :z AND c.org_id = :o AND c.id = :id"),
                           {"z": zone_id, "o": org, "id": class_id})).first()
    if row is None:
        raise AppError(404, "class.not_found", f"class {class_id} does not exist in this org")
    return ClassOut.model_validate(row._mapping)


@router.get("", response_model=ClassList, summary="Classes of your org",
            responses={**ORG_SCOPE, **DENIED})
async def list_classes(grade: int | None = Query(None, ge=1, le=20), org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(require("class:read")),
                       res: Resources = Depends(resources)) -> ClassList:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        rows = (await s.execute(text(
            f"{_SELECT} WHERE c.zone_id = :z AND c.org_id = :o AND (CAST(:g AS int) IS NULL OR c.grade = :g)"
            " ORDER BY c.grade, c.name"), {"z": principal.zone_id, "o": org, "g": grade})).all()
    return ClassList(items=[ClassOut.model_validate(r._mapping) for r in rows])


@router.post("", status_code=201, response_model=ClassOut, summary="Create a class",
             responses={**ORG_SCOPE, **DENIED, **EXISTS})
async def create_class(body: ClassIn, org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(require("class:create")),
                       res: Resources = Depends(resources)) -> ClassOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        class_id = (await s.execute(text(
            "INSERT INTO tenant.classes (zone_id, org_id, grade, name) VALUES (:z, :o, :g, :n)"
            " ON CONFLICT DO NOTHING RETURNING id"),
            {"z": principal.zone_id, "o": org, "g": body.grade, "n": body.name})).scalar_one_or_none()
        if class_id is None:
            raise AppError(409, "class.exists", f"class {body.grade}/{body.name} already exists")
        return await _one(s, principal.zone_id, org, class_id)


@router.get("/{class_id}", response_model=ClassOut, summary="One class", responses={**ORG_SCOPE, **DENIED, **NOT_FOUND})
async def get_class(class_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                    principal: Principal = Depends(require("class:read")),
                    res: Resources = Depends(resources)) -> ClassOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await _one(s, principal.zone_id, org, class_id)


@router.patch("/{class_id}", response_model=ClassOut, summary="Rename or regrade a class",
              responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **EXISTS})
async def update_class(class_id: uuid.UUID, body: ClassPatch, org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(require("class:update")),
                       res: Resources = Depends(resources)) -> ClassOut:
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_none=True)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            if changes:
                sets = ", ".join(f"{f} = :{f}" for f in changes)
                found = (await s.execute(text(
                    f"UPDATE tenant.classes SET {sets}, updated_at = now()"
                    " WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING id"),
                    {**changes, "z": principal.zone_id, "o": org, "id": class_id})).first()
                if found is None:
                    raise AppError(404, "class.not_found", f"class {class_id} does not exist in this org")
            return await _one(s, principal.zone_id, org, class_id)
    except IntegrityError:
        raise AppError(409, "class.exists", "another class has this grade and name") from None


@router.delete("/{class_id}", status_code=204, response_class=Response, summary="Delete a class",
               description="Its students stay, without a class.", responses={**ORG_SCOPE, **DENIED, **NOT_FOUND})
async def delete_class(class_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(require("class:delete")),
                       res: Resources = Depends(resources)) -> Response:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        deleted = (await s.execute(text(
            "DELETE FROM tenant.classes WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING id"),
            {"z": principal.zone_id, "o": org, "id": class_id})).first()
    if deleted is None:
        raise AppError(404, "class.not_found", f"class {class_id} does not exist in this org")
    return Response(status_code=204)
