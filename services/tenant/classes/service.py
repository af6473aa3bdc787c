"""The rules of classes: unique (grade, name) per org; created only in an active org; deleting
one leaves its students without a class."""
from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.tenant.access import ensure_org
from services.tenant.classes import queries
from services.tenant.classes.queries import ClassRow
from services.tenant.classes.schemas import ClassIn, ClassPatch


def _not_found(class_id: uuid.UUID) -> AppError:
    return AppError(404, "class.not_found", f"class {class_id} does not exist in this org")


async def _one(s: AsyncSession, zone_id: int, org: uuid.UUID, class_id: uuid.UUID) -> ClassRow:
    found = await queries.get_class(s, zone_id, org, class_id)
    if found is None:
        raise _not_found(class_id)
    return found


async def list_classes(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                       grade: int | None) -> list[ClassRow]:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        return await queries.list_classes(s, principal.zone_id, org, grade)


async def create_class(res: Resources, principal: Principal, org_id: uuid.UUID | None, body: ClassIn) -> ClassRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        class_id = await queries.insert_class(s, principal.zone_id, org, body.grade, body.name)
        if class_id is None:
            raise AppError(409, "class.exists", f"class {body.grade}/{body.name} already exists")
        return await _one(s, principal.zone_id, org, class_id)


async def get_class(res: Resources, principal: Principal, org_id: uuid.UUID | None, class_id: uuid.UUID) -> ClassRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await _one(s, principal.zone_id, org, class_id)


async def update_class(res: Resources, principal: Principal, org_id: uuid.UUID | None, class_id: uuid.UUID,
                       body: ClassPatch) -> ClassRow:
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_none=True)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            if changes and not await queries.update_class(s, principal.zone_id, org, class_id, changes):
                raise _not_found(class_id)
            return await _one(s, principal.zone_id, org, class_id)
    except IntegrityError:
        raise AppError(409, "class.exists", "another class has this grade and name") from None


async def delete_class(res: Resources, principal: Principal, org_id: uuid.UUID | None, class_id: uuid.UUID) -> None:
    """Delete the class; its students stay, without a class."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        deleted = await queries.delete_class(s, principal.zone_id, org, class_id)
    if not deleted:
        raise _not_found(class_id)
