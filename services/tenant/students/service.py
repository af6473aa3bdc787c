"""The rules of roster students: unique (name, parent phone) among live students of an org; the
class must be the org's; deleting is soft (the roster import restores instead of duplicating).
Org admins read the roster; a teacher only the students of its assigned classes; a parent only
its approved-linked children."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.tenant import listing
from services.tenant.access import ensure_org
from services.tenant.audit import audit_roster
from services.tenant.classes.service import teacher_scope
from services.tenant.listing import Page, PageRequest
from services.tenant.pii import tenant_pii
from services.tenant.students import queries
from services.tenant.students.queries import StudentFilter, StudentRow
from services.tenant.students.schemas import StudentIn, StudentPatch

STUDENTS_KEYSET = Keyset("tenant.students", grade=int, name=str, id=uuid.UUID)  # ORDER BY grade, name, id
NOT_NULL = ("name", "grade", "parent_phone")


def _parent(principal: Principal) -> uuid.UUID | None:
    """A parent's user id (it sees only approved-linked students); None for everyone else."""
    return principal.user_id if principal.role == "parent" else None


def _not_found(student_id: uuid.UUID) -> AppError:
    return AppError(404, "student.not_found", f"student {student_id} does not exist in this org")


async def _check_class(s: AsyncSession, zone_id: int, org: uuid.UUID, class_id: uuid.UUID | None) -> None:
    if class_id is not None and not await queries.class_exists(s, zone_id, org, class_id):
        raise AppError(422, "class.not_found", f"class {class_id} does not exist in this org")


async def _one(res: Resources, s: AsyncSession, principal: Principal, org: uuid.UUID, student_id: uuid.UUID) -> StudentRow:
    found = await queries.get_student(s, tenant_pii(res.settings), principal.zone_id, org, student_id, _parent(principal),
                                      teacher_scope(principal))
    if found is None:
        raise _not_found(student_id)
    return found


async def list_students(res: Resources, principal: Principal, org_id: uuid.UUID | None, f: StudentFilter,
                        req: PageRequest) -> Page[StudentRow]:
    """The org's live students matching `f` (a parent's listing is narrowed to its children, a
    teacher's to its assigned classes)."""
    org = acting_org(principal, org_id)
    after = listing.after(STUDENTS_KEYSET, req, res)
    f = StudentFilter(f.grade, f.class_id, f.name_prefix, _parent(principal), teacher_scope(principal))
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        found = await queries.list_students(s, tenant_pii(res.settings), principal.zone_id, org, f, after, req.limit + 1, req.offset)
    return listing.page(STUDENTS_KEYSET, found, req, res)


async def create_student(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                         body: StudentIn) -> StudentRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        await _check_class(s, principal.zone_id, org, body.class_id)
        student_id = await queries.insert_student(s, tenant_pii(res.settings), principal.zone_id, org, body.model_dump())
        if student_id is None:
            raise AppError(409, "student.exists", "a student with this name and parent phone is already on the roster")
        await audit_roster(s, principal, org, "student", student_id, "created", body.model_dump(exclude_none=True))
        return await _one(res, s, principal, org, student_id)


async def get_student(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                      student_id: uuid.UUID) -> StudentRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await _one(res, s, principal, org, student_id)


async def update_student(res: Resources, principal: Principal, org_id: uuid.UUID | None, student_id: uuid.UUID,
                         body: StudentPatch) -> StudentRow:
    """Change the fields given (`null` clears the optional ones; the required ones stay set)."""
    org = acting_org(principal, org_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for required in NOT_NULL:
        if required in changes and changes[required] is None:
            raise AppError(400, "student.invalid", f"{required} cannot be null")
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            await _check_class(s, principal.zone_id, org, changes.get("class_id"))
            if changes and not await queries.update_student(s, tenant_pii(res.settings), principal.zone_id, org, student_id, changes):
                raise _not_found(student_id)
            if changes:
                await audit_roster(s, principal, org, "student", student_id, "updated", changes)
            return await _one(res, s, principal, org, student_id)
    except IntegrityError:
        raise AppError(409, "student.exists", "another student has this name and parent phone") from None


async def delete_student(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                         student_id: uuid.UUID) -> None:
    """Soft delete: the record keeps `deleted_at`; importing the same name and parent phone restores it."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        deleted = await queries.soft_delete_student(s, principal.zone_id, org, student_id)
        if deleted:
            await audit_roster(s, principal, org, "student", student_id, "deleted")
    if not deleted:
        raise _not_found(student_id)
