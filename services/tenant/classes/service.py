"""The rules of classes: unique (grade, name) per org; created only in an active org; deleting
one leaves its students without a class (and drops its teacher assignments).

Teachers are assigned to classes by org admins (`tenant.teacher_classes`); a teacher reads only
its assigned classes (another class is 404, as if it did not exist), and so does every roster
and member read that `teacher_scope` narrows. Other services ask `teacher_classes_for_peer`."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.roles import STAFF_ROLES
from megacity.runtime import Resources
from services.tenant.access import ensure_org
from services.tenant.classes import queries
from services.tenant.classes.queries import ClassRow, ClassStudentRow, ClassTeacherRow
from services.tenant.classes.schemas import ClassIn, ClassPatch


def _not_found(class_id: uuid.UUID) -> AppError:
    return AppError(404, "class.not_found", f"class {class_id} does not exist in this org")


def teacher_scope(principal: Principal) -> uuid.UUID | None:
    """A teacher's user id: its reads are narrowed to its assigned classes; None for everyone else."""
    return principal.user_id if principal.role == "teacher" else None


def ensure_staff(principal: Principal, needed: str = "class:read") -> None:
    """Class reads are staff business; a parent's `student:read` (its own children) is not enough."""
    if principal.role not in STAFF_ROLES:
        raise AppError(403, "auth.permission_denied", f"role {principal.role} may not {needed}")


async def _one(s: AsyncSession, zone_id: int, org: uuid.UUID, class_id: uuid.UUID,
               teacher: uuid.UUID | None = None) -> ClassRow:
    found = await queries.get_class(s, zone_id, org, class_id, teacher)
    if found is None:
        raise _not_found(class_id)
    return found


async def _audit(s: AsyncSession, principal: Principal, org: uuid.UUID, class_id: uuid.UUID, verb: str, *,
                 before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """`tenant.class.<verb>`, in the transaction of the change."""
    await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                       target_type="class", target_id=class_id, action=f"tenant.class.{verb}", before=before, after=after)


async def list_classes(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                       grade: int | None) -> list[ClassRow]:
    """The org's classes; a teacher's assigned ones only."""
    ensure_staff(principal)
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        return await queries.list_classes(s, principal.zone_id, org, grade, teacher_scope(principal))


async def create_class(res: Resources, principal: Principal, org_id: uuid.UUID | None, body: ClassIn) -> ClassRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        class_id = await queries.insert_class(s, principal.zone_id, org, body.grade, body.name)
        if class_id is None:
            raise AppError(409, "class.exists", f"class {body.grade}/{body.name} already exists")
        await _audit(s, principal, org, class_id, "created", after={"grade": body.grade, "name": body.name})
        return await _one(s, principal.zone_id, org, class_id)


async def get_class(res: Resources, principal: Principal, org_id: uuid.UUID | None, class_id: uuid.UUID) -> ClassRow:
    ensure_staff(principal)
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await _one(s, principal.zone_id, org, class_id, teacher_scope(principal))


async def update_class(res: Resources, principal: Principal, org_id: uuid.UUID | None, class_id: uuid.UUID,
                       body: ClassPatch) -> ClassRow:
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_none=True)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            before = await _one(s, principal.zone_id, org, class_id) if changes else None
            if changes and not await queries.update_class(s, principal.zone_id, org, class_id, changes):
                raise _not_found(class_id)
            if before is not None:
                await _audit(s, principal, org, class_id, "updated",
                             before={k: getattr(before, k) for k in changes}, after=changes)
            return await _one(s, principal.zone_id, org, class_id)
    except IntegrityError:
        raise AppError(409, "class.exists", "another class has this grade and name") from None


async def delete_class(res: Resources, principal: Principal, org_id: uuid.UUID | None, class_id: uuid.UUID) -> None:
    """Delete the class; its students stay, without a class."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        current = await queries.get_class(s, principal.zone_id, org, class_id, None)
        deleted = await queries.delete_class(s, principal.zone_id, org, class_id)
        if deleted and current is not None:
            await _audit(s, principal, org, class_id, "deleted", before={"grade": current.grade, "name": current.name})
    if not deleted:
        raise _not_found(class_id)


async def list_class_teachers(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                              class_id: uuid.UUID) -> list[ClassTeacherRow]:
    """The teachers assigned to a class (a teacher sees them only for its own classes)."""
    ensure_staff(principal)
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await _one(s, principal.zone_id, org, class_id, teacher_scope(principal))
        return await queries.class_teachers(s, principal.zone_id, org, class_id)


async def assign_teacher(res: Resources, principal: Principal, org_id: uuid.UUID | None, class_id: uuid.UUID,
                         teacher_user_id: uuid.UUID) -> tuple[list[ClassTeacherRow], bool]:
    """Assign a teacher member of the org to the class (idempotent); the class's teachers and
    whether the assignment is new."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        await _one(s, principal.zone_id, org, class_id)
        if not await queries.is_teacher_member(s, principal.zone_id, org, teacher_user_id):
            raise AppError(422, "class.teacher_not_member", f"user {teacher_user_id} is not a teacher of this org")
        created = await queries.assign_teacher(s, principal.zone_id, org, class_id, teacher_user_id, principal.user_id)
        if created:
            await _audit(s, principal, org, class_id, "teacher_assigned", after={"teacher_user_id": str(teacher_user_id)})
        return await queries.class_teachers(s, principal.zone_id, org, class_id), created


async def unassign_teacher(res: Resources, principal: Principal, org_id: uuid.UUID | None, class_id: uuid.UUID,
                           teacher_user_id: uuid.UUID) -> None:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await _one(s, principal.zone_id, org, class_id)
        if not await queries.unassign_teacher(s, principal.zone_id, org, class_id, teacher_user_id):
            raise AppError(404, "class.teacher_not_assigned", f"user {teacher_user_id} is not assigned to this class")
        await _audit(s, principal, org, class_id, "teacher_unassigned", before={"teacher_user_id": str(teacher_user_id)})


async def teacher_classes_for_peer(res: Resources, zone_id: int, org_id: uuid.UUID,
                                   teacher_user_id: uuid.UUID) -> list[uuid.UUID]:
    """The classes of the org a teacher is assigned to (for other services: exam's scoping)."""
    async with tenant_transaction(res.db(), TenantContext(zone_id=zone_id, org_id=org_id)) as s:
        return await queries.teacher_class_ids(s, zone_id, org_id, teacher_user_id)


async def class_students_for_peer(res: Resources, zone_id: int, org_id: uuid.UUID,
                                  class_id: uuid.UUID) -> list[ClassStudentRow]:
    """The live roster students of a class (for other services); 404 when the org has no such class."""
    async with tenant_transaction(res.db(), TenantContext(zone_id=zone_id, org_id=org_id)) as s:
        await _one(s, zone_id, org_id, class_id)
        return await queries.class_students(s, zone_id, org_id, class_id)
