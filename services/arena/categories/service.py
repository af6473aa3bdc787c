"""The rules of the category tree.

- Visibility and writes as questions (questions/access.py): org categories by the org, shared ones
  (org_id NULL) by zone/super admins; another org's category is 404.
- A parent must be visible; a shared category's parent must be shared (an org may hang its own
  categories under a shared one, never the reverse).
- No cycles: a move below the category itself or one of its descendants is 409
  `arena.category_cycle`; moves in a zone are serialised by an advisory lock, so two concurrent
  moves cannot build a cycle between them.
- Sibling names are unique (case-insensitive): 409 `arena.category_exists`. A category with
  children cannot be deleted (409 `arena.category_not_empty`); its question links go with it.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.arena.categories import queries
from services.arena.categories.queries import CategoryRow
from services.arena.categories.schemas import CategoryIn, CategoryPatch
from services.arena.questions.access import context, ensure_writable, not_found, owner_org


def _exists(name: str) -> AppError:
    return AppError(409, "arena.category_exists", f"the parent already has a category named {name!r}")


async def _one(s: AsyncSession, zone_id: int, category_id: uuid.UUID, *, lock: bool = False) -> CategoryRow:
    row = await queries.get_category(s, zone_id, category_id, lock=lock)
    if row is None:
        raise not_found("category", category_id)
    return row


async def _writable(s: AsyncSession, principal: Principal, category_id: uuid.UUID) -> CategoryRow:
    """The category, locked, after checking the caller may change it (a locking read sees only
    rows the update policy allows: read first, so a shared row is 403, not 404)."""
    ensure_writable(principal, (await _one(s, principal.zone_id, category_id)).org_id)
    return await _one(s, principal.zone_id, category_id, lock=True)


async def _check_parent(s: AsyncSession, zone_id: int, org_id: uuid.UUID | None,
                        parent_id: uuid.UUID | None) -> None:
    if parent_id is None:
        return
    parent = await _one(s, zone_id, parent_id)
    if org_id is None and parent.org_id is not None:
        raise AppError(422, "arena.category_invalid", "a zone-shared category's parent must be zone-shared too")
    if org_id is not None and parent.org_id not in (None, org_id):
        raise not_found("category", parent_id)


async def list_categories(res: Resources, principal: Principal) -> list[CategoryRow]:
    async with tenant_transaction(res.db(), context(principal)) as s:
        return await queries.list_tree(s, principal.zone_id)


async def _with_path(s: AsyncSession, zone_id: int, row: CategoryRow) -> CategoryRow:
    """The row with its path of names (walked up through the visible parents)."""
    path, parent = [row.name], row.parent_id
    while parent is not None and len(path) < 64:
        up = await queries.get_category(s, zone_id, parent)
        if up is None:
            break
        path.insert(0, up.name)
        parent = up.parent_id
    return CategoryRow(**{**row.__dict__, "path": path})


async def create_category(res: Resources, principal: Principal, body: CategoryIn) -> CategoryRow:
    org = owner_org(principal, body.shared)
    async with tenant_transaction(res.db(), context(principal)) as s:
        await _check_parent(s, principal.zone_id, org, body.parent_id)
        row = await queries.insert_category(s, principal.zone_id, org, body.parent_id, body.name)
        if row is None:
            raise _exists(body.name)
        return await _with_path(s, principal.zone_id, row)


async def update_category(res: Resources, principal: Principal, category_id: uuid.UUID,
                          body: CategoryPatch) -> CategoryRow:
    changes = body.model_dump(exclude_unset=True)
    try:
        return await _update(res, principal, category_id, changes)
    except IntegrityError:  # a sibling of that name was created meanwhile
        raise _exists(str(changes.get("name"))) from None


async def _update(res: Resources, principal: Principal, category_id: uuid.UUID, changes: dict[str, Any]) -> CategoryRow:
    async with tenant_transaction(res.db(), context(principal)) as s:
        await queries.lock_tree(s, principal.zone_id)
        row = await _writable(s, principal, category_id)
        parent_id = changes.get("parent_id", row.parent_id)
        name = changes.get("name") or row.name
        if parent_id != row.parent_id:
            await _check_parent(s, principal.zone_id, row.org_id, parent_id)
            if parent_id is not None and await queries.is_descendant(s, principal.zone_id, category_id, parent_id):
                raise AppError(409, "arena.category_cycle",
                               f"category {category_id} cannot move below itself or its descendant {parent_id}")
        if await queries.sibling_named(s, principal.zone_id, row.org_id, parent_id, name, exclude=category_id):
            raise _exists(name)
        updated = await queries.update_category(s, principal.zone_id, category_id, parent_id, name)
        if updated is None:
            raise not_found("category", category_id)
        return await _with_path(s, principal.zone_id, updated)


async def delete_category(res: Resources, principal: Principal, category_id: uuid.UUID) -> None:
    not_empty = AppError(409, "arena.category_not_empty", f"category {category_id} still has child categories")
    try:
        async with tenant_transaction(res.db(), context(principal)) as s:
            await _writable(s, principal, category_id)
            if await queries.has_children(s, principal.zone_id, category_id):
                raise not_empty
            await queries.delete_category(s, principal.zone_id, category_id)
    except IntegrityError:  # a child of another org (invisible here) holds it: the FK says so
        raise not_empty from None


async def usable_categories(s: AsyncSession, zone_id: int, org_id: uuid.UUID | None,
                            ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The ids a question of `org_id` may link (visible; a shared question only shared
    categories); the first other one is 404."""
    wanted = list(dict.fromkeys(ids))
    found = {c.id: c for c in await queries.visible_categories(s, zone_id, wanted)}
    for category_id in wanted:
        row = found.get(category_id)
        if row is None or (org_id is None and row.org_id is not None) or row.org_id not in (None, org_id):
            raise not_found("category", category_id)
    return wanted
