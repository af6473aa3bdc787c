"""The rules of teacher and parent records (the same for both, told apart by `PersonKind`):
created only in an active org, `name` cannot be cleared, deleting is soft."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.tenant import listing
from services.tenant.access import ensure_org
from services.tenant.audit import audit_roster
from services.tenant.listing import Page, PageRequest
from services.tenant.pii import tenant_pii
from services.tenant.staff import queries
from services.tenant.staff.queries import PersonRow, PersonTable
from services.tenant.staff.schemas import PersonIn, PersonPatch


@dataclass(frozen=True)
class PersonKind:
    table: PersonTable  # teachers | parents
    singular: str  # teacher | parent: error codes `<singular>.not_found`, `<singular>.invalid`

    @property
    def keyset(self) -> Keyset:
        return _KEYSETS[self.table]

    def not_found(self, person_id: uuid.UUID) -> AppError:
        return AppError(404, f"{self.singular}.not_found", f"{self.singular} {person_id} does not exist in this org")


TEACHERS = PersonKind("teachers", "teacher")
PARENTS = PersonKind("parents", "parent")
_KEYSETS = {k.table: Keyset(f"tenant.{k.table}", name=str, id=uuid.UUID) for k in (TEACHERS, PARENTS)}  # name, id


async def list_people(res: Resources, principal: Principal, kind: PersonKind, org_id: uuid.UUID | None,
                      req: PageRequest) -> Page[PersonRow]:
    org = acting_org(principal, org_id)
    after = listing.after(kind.keyset, req, res)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        found = await queries.list_people(s, tenant_pii(res.settings), kind.table, principal.zone_id, org, after,
                                          req.limit + 1, req.offset)
    return listing.page(kind.keyset, found, req, res)


async def create_person(res: Resources, principal: Principal, kind: PersonKind, org_id: uuid.UUID | None,
                        body: PersonIn) -> PersonRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        person = await queries.insert_person(s, tenant_pii(res.settings), kind.table, principal.zone_id, org,
                                             body.model_dump())
        await audit_roster(s, principal, org, kind.singular, person.id, "created", body.model_dump(exclude_none=True))
        return person


async def get_person(res: Resources, principal: Principal, kind: PersonKind, org_id: uuid.UUID | None,
                     person_id: uuid.UUID) -> PersonRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        found = await queries.get_person(s, tenant_pii(res.settings), kind.table, principal.zone_id, org, person_id)
    if found is None:
        raise kind.not_found(person_id)
    return found


async def update_person(res: Resources, principal: Principal, kind: PersonKind, org_id: uuid.UUID | None,
                        person_id: uuid.UUID, body: PersonPatch) -> PersonRow:
    """Change the fields given (`null` clears email, phone or user; `name` stays set)."""
    org = acting_org(principal, org_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        raise AppError(400, f"{kind.singular}.invalid", "name cannot be null")
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        found = await queries.update_person(s, tenant_pii(res.settings), kind.table, principal.zone_id, org, person_id, changes)
        if found is not None and changes:
            await audit_roster(s, principal, org, kind.singular, person_id, "updated", changes)
    if found is None:
        raise kind.not_found(person_id)
    return found


async def delete_person(res: Resources, principal: Principal, kind: PersonKind, org_id: uuid.UUID | None,
                        person_id: uuid.UUID) -> None:
    """Soft delete (`deleted_at`)."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        deleted = await queries.soft_delete_person(s, kind.table, principal.zone_id, org, person_id)
        if deleted:
            await audit_roster(s, principal, org, kind.singular, person_id, "deleted")
    if not deleted:
        raise kind.not_found(person_id)
