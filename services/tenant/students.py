"""Student records of an org's roster: name, grade, class, parent phone (and optionally email
and the auth user they belong to). Deleting is soft (`deleted_at`); the roster import restores
a soft-deleted student instead of creating a duplicate.

Teachers read the whole roster (`student:read`), org admins too (`user:read`); a parent
(`student:read`) sees only the students it holds an APPROVED link to.
"""
from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.pagination import Keyset
from megacity.runtime import Resources, resources
from services.tenant import listing
from services.tenant.access import DENIED, ORG_SCOPE, acting_org, ensure_org, org_context
from services.tenant.fields import Email, Grade, Name, Phone

router = APIRouter(prefix="/api/v1/rosters/students", tags=["students"])

_EXAMPLE = {"id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "user_id": None, "name": "Kim Minji", "grade": 10, "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "class_name": "10-A", "parent_phone": "01012345678", "email": "kim.minji@example.com",
            "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z", "deleted_at": None}
NOT_FOUND = problem_response(404, "student.not_found", "No such student in your org")
EXISTS = problem_response(409, "student.exists", "A student with this name and parent phone exists")
ORG_ID = Query(None, description="Zone-level callers: the org to act on (others: their own org)")
_SELECT = ("SELECT s.id, s.org_id, s.user_id, s.name, s.grade, s.class_id, c.name AS class_name, s.parent_phone,"
           " s.email, s.created_at, s.updated_at, s.deleted_at FROM tenant.students s"
           " LEFT JOIN tenant.classes c ON c.zone_id = s.zone_id AND c.org_id = s.org_id AND c.id = s.class_id")
# A parent sees a student only through an approved link (by roster record or by the student's user).
_PARENT_FILTER = (" AND (CAST(:parent AS uuid) IS NULL OR EXISTS (SELECT 1 FROM tenant.parent_links l"
                  " WHERE l.zone_id = s.zone_id AND l.org_id = s.org_id AND l.parent_user_id = :parent"
                  " AND l.status = 'approved' AND (l.student_id = s.id OR l.student_user_id = s.user_id)))")


class StudentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Kim Minji", "grade": 10, "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
         "parent_phone": "010-1234-5678", "email": "kim.minji@example.com"}]})

    name: Name
    grade: Grade
    parent_phone: Phone
    class_id: uuid.UUID | None = None
    email: Email | None = None
    user_id: uuid.UUID | None = Field(None, description="The student's auth user, when known")


class StudentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grade": 11, "class_id": None}]})

    name: Name | None = None
    grade: Grade | None = None
    parent_phone: Phone | None = None
    class_id: uuid.UUID | None = None
    email: Email | None = None
    user_id: uuid.UUID | None = None


class StudentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    grade: int
    class_id: uuid.UUID | None
    class_name: str | None
    parent_phone: str
    email: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None


class StudentList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[StudentOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)


STUDENTS_KEYSET = Keyset("tenant.students", grade=int, name=str, id=uuid.UUID)  # ORDER BY grade, name, id


def _parent(principal: Principal) -> uuid.UUID | None:
    return principal.user_id if principal.role == "parent" else None


async def _check_class(s: AsyncSession, zone_id: int, org: uuid.UUID, class_id: uuid.UUID | None) -> None:
    if class_id is not None and (await s.execute(text(
            "SELECT 1 FROM tenant.classes WHERE zone_id = :z AND org_id = :o AND id = :id"),
            {"z": zone_id, "o": org, "id": class_id})).first() is None:
        raise AppError(422, "class.not_found", f"class {class_id} does not exist in this org")


async def _one(s: AsyncSession, principal: Principal, org: uuid.UUID, student_id: uuid.UUID) -> StudentOut:
    row = (await s.execute(text(
        f"{_SELECT} WHERE s.zone_id = :z AND s.org_id = :o AND s.id = :id AND s.deleted_at IS NULL{_PARENT_FILTER}"),
        {"z": principal.zone_id, "o": org, "id": student_id, "parent": _parent(principal)})).first()
    if row is None:
        raise AppError(404, "student.not_found", f"student {student_id} does not exist in this org")
    return StudentOut.model_validate(row._mapping)


@router.get("", response_model=StudentList, summary="Students of your org",
            description="Teachers and org admins see the roster; a parent sees only its approved-linked children.",
            responses={**ORG_SCOPE, **DENIED,
                       **listing.PAGING_ERRORS})
async def list_students(grade: int | None = Query(None, ge=1, le=20), class_id: uuid.UUID | None = None,
                        name: str | None = Query(None, max_length=100, description="Name prefix"),
                        limit: int = Query(100, ge=1, le=1000), offset: int = listing.OFFSET,
                        cursor: str | None = listing.CURSOR, org_id: uuid.UUID | None = ORG_ID,
                        principal: Principal = Depends(require("student:read", "user:read")),
                        res: Resources = Depends(resources)) -> StudentList:
    org = acting_org(principal, org_id)
    after = listing.after(STUDENTS_KEYSET, cursor, offset, res)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        rows = (await s.execute(text(
            f"SELECT * FROM (SELECT *, count(*) OVER () AS total FROM ({_SELECT} WHERE s.zone_id = :z"
            " AND s.org_id = :o AND s.deleted_at IS NULL AND (CAST(:g AS int) IS NULL OR s.grade = :g)"
            " AND (CAST(:c AS uuid) IS NULL OR s.class_id = :c)"
            f" AND (CAST(:n AS text) IS NULL OR s.name LIKE :n || '%'){_PARENT_FILTER}) AS q) AS counted"
            " WHERE CAST(:after_grade AS int) IS NULL OR (grade, name, id) > (:after_grade, :after_name, :after_id)"
            " ORDER BY grade, name, id LIMIT :limit OFFSET :offset"),
            {"z": principal.zone_id, "o": org, "g": grade, "c": class_id,
             "n": name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") if name else None,
             "parent": _parent(principal), "after_grade": after[0] if after else None,
             "after_name": after[1] if after else None, "after_id": after[2] if after else None,
             "limit": limit + 1, "offset": offset})).all()
    page, nxt = listing.page(STUDENTS_KEYSET, rows, limit, res)
    return StudentList(items=[StudentOut.model_validate(r._mapping) for r in page],
                       total=rows[0].total if rows else 0, next_cursor=nxt)


@router.post("", status_code=201, response_model=StudentOut, summary="Add a student to the roster",
             responses={**ORG_SCOPE, **DENIED, **EXISTS, **problem_response(422, "class.not_found", "No such class in your org")})
async def create_student(body: StudentIn, org_id: uuid.UUID | None = ORG_ID,
                         principal: Principal = Depends(require("user:create")),
                         res: Resources = Depends(resources)) -> StudentOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        await _check_class(s, principal.zone_id, org, body.class_id)
        student_id = (await s.execute(text(
            "INSERT INTO tenant.students (zone_id, org_id, user_id, name, grade, class_id, parent_phone, email)"
            " VALUES (:z, :o, :u, :name, :grade, :class_id, :phone, :email)"
            " ON CONFLICT (zone_id, org_id, name, parent_phone) WHERE deleted_at IS NULL DO NOTHING RETURNING id"),
            {"z": principal.zone_id, "o": org, "u": body.user_id, "name": body.name, "grade": body.grade,
             "class_id": body.class_id, "phone": body.parent_phone, "email": body.email})).scalar_one_or_none()
        if student_id is None:
            raise AppError(409, "student.exists", "a student with this name and parent phone is already on the roster")
        return await _one(s, principal, org, student_id)


@router.get("/{student_id}", response_model=StudentOut, summary="One student", responses={**ORG_SCOPE, **DENIED, **NOT_FOUND})
async def get_student(student_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("student:read", "user:read")),
                      res: Resources = Depends(resources)) -> StudentOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await _one(s, principal, org, student_id)


@router.patch("/{student_id}", response_model=StudentOut, summary="Update a student",
              responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **EXISTS,
                         **problem_response(400, "student.invalid", "name, grade and parent_phone cannot be null",
                                            "grade cannot be null")})
async def update_student(student_id: uuid.UUID, body: StudentPatch, org_id: uuid.UUID | None = ORG_ID,
                         principal: Principal = Depends(require("user:update")),
                         res: Resources = Depends(resources)) -> StudentOut:
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "grade", "parent_phone"):
        if required in changes and changes[required] is None:
            raise AppError(400, "student.invalid", f"{required} cannot be null")
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            await _check_class(s, principal.zone_id, org, changes.get("class_id"))
            if changes:
                sets = ", ".join(f"{f} = :{f}" for f in changes)
                found = (await s.execute(text(
                    f"UPDATE tenant.students SET {sets}, updated_at = now()"
                    " WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING id"),
                    {**changes, "z": principal.zone_id, "o": org, "id": student_id})).first()
                if found is None:
                    raise AppError(404, "student.not_found", f"student {student_id} does not exist in this org")
            return await _one(s, principal, org, student_id)
    except IntegrityError:
        raise AppError(409, "student.exists", "another student has this name and parent phone") from None


@router.delete("/{student_id}", status_code=204, response_class=Response, summary="Remove a student (soft delete)",
               description="The record is kept with `deleted_at`; importing the same name and parent phone "
                           "restores it.", responses={**ORG_SCOPE, **DENIED, **NOT_FOUND})
async def delete_student(student_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                         principal: Principal = Depends(require("user:update")),
                         res: Resources = Depends(resources)) -> Response:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        found = (await s.execute(text(
            "UPDATE tenant.students SET deleted_at = now(), updated_at = now()"
            " WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING id"),
            {"z": principal.zone_id, "o": org, "id": student_id})).first()
    if found is None:
        raise AppError(404, "student.not_found", f"student {student_id} does not exist in this org")
    return Response(status_code=204)
