"""Item CRUD. Teachers author items (`item:create|read|update`); an item is never deleted, only
retired (`DELETE` = retire), because responses and frozen bank versions refer to it. Every
change bumps the bank version and announces it (`bank_versions.bump_version`), in the same
transaction; lock order is always bank, then items (as the import does), so a change and an
import of the same bank never deadlock."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.exam.bank_versions import bump_version, lock_bank
from services.exam.item_fields import ItemFields, validation_errors
from services.exam.items import queries
from services.exam.items.queries import ItemRow
from services.exam.items.schemas import ItemIn, ItemPatch

# Newest first: ORDER BY created_at DESC, id DESC (megacity.pagination).
ITEMS_KEYSET = Keyset("exam.items", created_at=dt.datetime, id=uuid.UUID)


@dataclass(frozen=True)
class ItemFilter:
    bank_id: uuid.UUID | None = None
    content_area: str | None = None
    status: str | None = "active"
    q: str | None = None


@dataclass(frozen=True)
class ItemListing:
    items: list[ItemRow]
    next_cursor: str | None


def item_not_found(item_id: uuid.UUID) -> AppError:
    return AppError(404, "item.not_found", f"item {item_id} does not exist in your org")


def _invalid(err: ValidationError) -> AppError:
    errors = validation_errors(err)
    return AppError(422, "item.invalid", errors[0]["message"] if errors else "invalid item", {"errors": errors})


def _fields_of(row: ItemRow) -> dict[str, Any]:
    """The item's own fields as the API shows them (the input of ItemFields)."""
    return {name: getattr(row, name) for name in ItemFields.model_fields}


async def _one(s: AsyncSession, zone_id: int, org: uuid.UUID, item_id: uuid.UUID, *, lock: bool = False) -> ItemRow:
    row = await queries.get_item(s, zone_id, org, item_id, lock=lock)
    if row is None:
        raise item_not_found(item_id)
    return row


async def _locked(s: AsyncSession, zone_id: int, org: uuid.UUID, item_id: uuid.UUID) -> ItemRow:
    """The item, locked for a change, after its bank (the lock order)."""
    bank_id = (await _one(s, zone_id, org, item_id)).bank_id
    await lock_bank(s, zone_id, org, bank_id)
    return await _one(s, zone_id, org, item_id, lock=True)


async def create_item(res: Resources, principal: Principal, body: ItemIn, org_id: uuid.UUID | None = None) -> ItemRow:
    org = acting_org(principal, org_id)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            await lock_bank(s, principal.zone_id, org, body.bank_id, status=422)
            row = await queries.insert_item(s, principal.zone_id, org, body.bank_id, principal.user_id,
                                            body.db_params())
            await bump_version(s, principal.zone_id, org, body.bank_id, "item.created", [row.id], actor=principal)
    except IntegrityError:
        raise AppError(409, "item.code_exists", f"an item with code {body.code!r} exists in this bank") from None
    return row


async def list_items(res: Resources, principal: Principal, where: ItemFilter, *, cursor: str | None, limit: int,
                     org_id: uuid.UUID | None = None) -> ItemListing:
    org = acting_org(principal, org_id)
    after = ITEMS_KEYSET.decode(cursor, res.settings.secret_key)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = await queries.list_items(s, principal.zone_id, org, bank_id=where.bank_id,
                                        content_area=where.content_area, status=where.status, q=where.q,
                                        after=after, limit=limit + 1)
    page, nxt = ITEMS_KEYSET.page(rows, limit, res.settings.secret_key)
    return ItemListing(items=list(page), next_cursor=nxt)


async def get_item(res: Resources, principal: Principal, item_id: uuid.UUID, org_id: uuid.UUID | None = None) -> ItemRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await _one(s, principal.zone_id, org, item_id)


async def update_item(res: Resources, principal: Principal, item_id: uuid.UUID, body: ItemPatch,
                      org_id: uuid.UUID | None = None) -> ItemRow:
    """Merge the change into the item; the result must be valid as a whole. No change, no new
    revision and no new bank version."""
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_unset=True)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            current = await _locked(s, principal.zone_id, org, item_id)
            merged = {**_fields_of(current), **changes}
            try:
                fields = ItemFields.model_validate(merged)
            except ValidationError as err:
                raise _invalid(err) from None
            if fields.model_dump() == ItemFields.model_validate(_fields_of(current)).model_dump():
                return current  # nothing changed: no new version
            row = await queries.update_item(s, principal.zone_id, org, item_id, fields.db_params())
            await bump_version(s, principal.zone_id, org, current.bank_id, "item.updated", [item_id], actor=principal)
    except IntegrityError:
        raise AppError(409, "item.code_exists", "an item with that code exists in this bank") from None
    return row


async def retire_item(res: Resources, principal: Principal, item_id: uuid.UUID,
                      org_id: uuid.UUID | None = None) -> ItemRow:
    """Retired items are never given again; an item on a published fixed form cannot be retired."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        current = await _locked(s, principal.zone_id, org, item_id)
        if current.status == "retired":
            return current
        in_use = await queries.published_fixed_exam_with(s, principal.zone_id, org, item_id)
        if in_use is not None:
            raise AppError(409, "item.in_use", f"item is on published exam {in_use}; archive the exam first")
        row = await queries.retire_item(s, principal.zone_id, org, item_id)
        await bump_version(s, principal.zone_id, org, current.bank_id, "item.retired", [item_id], actor=principal)
    return row
