"""SQL of `arena.categories` (the tree) and `arena.question_categories` (the N:M links).
Every query names zone_id; RLS scopes the transaction to what the caller may see."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = "id, zone_id, org_id, parent_id, name, created_at"


@dataclass(frozen=True)
class CategoryRow:
    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    name: str
    created_at: dt.datetime
    path: list[str] | None = None  # names from the root, for listings


def _row(row: Any) -> CategoryRow:
    return CategoryRow(**row._mapping)


async def list_tree(s: AsyncSession, zone_id: int) -> list[CategoryRow]:
    """Every visible category with its path of names, roots first, siblings by name. A category
    whose parent the caller cannot see is listed as a root of its own."""
    rows = (await s.execute(text(
        f"WITH RECURSIVE visible AS (SELECT {COLUMNS} FROM arena.categories WHERE zone_id = :z),"
        f" tree AS (SELECT v.*, ARRAY[v.name] AS path, ARRAY[lower(v.name)] AS sort_key FROM visible v"
        "   WHERE v.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM visible p WHERE p.id = v.parent_id)"
        "  UNION ALL SELECT c.*, t.path || c.name, t.sort_key || lower(c.name)"
        "   FROM visible c JOIN tree t ON c.parent_id = t.id)"
        f" SELECT {COLUMNS}, path FROM tree ORDER BY sort_key, id"), {"z": zone_id})).all()
    return [_row(r) for r in rows]


async def get_category(s: AsyncSession, zone_id: int, category_id: uuid.UUID, *,
                       lock: bool = False) -> CategoryRow | None:
    row = (await s.execute(text(f"SELECT {COLUMNS} FROM arena.categories WHERE zone_id = :z AND id = :id"
                                + (" FOR UPDATE" if lock else "")), {"z": zone_id, "id": category_id})).first()
    return _row(row) if row is not None else None


async def visible_categories(s: AsyncSession, zone_id: int, ids: Sequence[uuid.UUID]) -> list[CategoryRow]:
    rows = (await s.execute(text(f"SELECT {COLUMNS} FROM arena.categories WHERE zone_id = :z"
                                 " AND id = ANY(CAST(:ids AS uuid[]))"), {"z": zone_id, "ids": [str(i) for i in ids]})).all()
    return [_row(r) for r in rows]


async def lock_tree(s: AsyncSession, zone_id: int) -> None:
    """Serialise moves within a zone for the transaction, so two concurrent moves cannot make a
    cycle that neither saw."""
    await s.execute(text("SELECT pg_advisory_xact_lock(hashtext('arena.categories'), :z)"), {"z": zone_id})


async def is_descendant(s: AsyncSession, zone_id: int, ancestor: uuid.UUID, candidate: uuid.UUID) -> bool:
    """Whether `candidate` is `ancestor` or lies below it (over every row of the zone the
    transaction sees)."""
    return bool((await s.execute(text(
        "WITH RECURSIVE below AS (SELECT id FROM arena.categories WHERE zone_id = :z AND id = :a"
        " UNION SELECT c.id FROM arena.categories c JOIN below b ON c.parent_id = b.id WHERE c.zone_id = :z)"
        " SELECT EXISTS (SELECT 1 FROM below WHERE id = :c)"), {"z": zone_id, "a": ancestor, "c": candidate})).scalar())


async def insert_category(s: AsyncSession, zone_id: int, org_id: uuid.UUID | None, parent_id: uuid.UUID | None,
                          name: str) -> CategoryRow | None:
    """The new category; None when its parent already has a child of that name."""
    row = (await s.execute(text(
        f"INSERT INTO arena.categories (zone_id, org_id, parent_id, name) VALUES (:z, :o, :p, :n)"
        f" ON CONFLICT DO NOTHING RETURNING {COLUMNS}"), {"z": zone_id, "o": org_id, "p": parent_id, "n": name})).first()
    return _row(row) if row is not None else None


async def sibling_named(s: AsyncSession, zone_id: int, org_id: uuid.UUID | None, parent_id: uuid.UUID | None,
                        name: str, exclude: uuid.UUID | None = None) -> bool:
    return bool((await s.execute(text(
        "SELECT EXISTS (SELECT 1 FROM arena.categories WHERE zone_id = :z AND org_id IS NOT DISTINCT FROM :o"
        " AND parent_id IS NOT DISTINCT FROM :p AND lower(name) = lower(:n) AND id IS DISTINCT FROM :x)"),
        {"z": zone_id, "o": org_id, "p": parent_id, "n": name, "x": exclude})).scalar())


async def update_category(s: AsyncSession, zone_id: int, category_id: uuid.UUID, parent_id: uuid.UUID | None,
                          name: str) -> CategoryRow | None:
    row = (await s.execute(text(
        f"UPDATE arena.categories SET parent_id = :p, name = :n WHERE zone_id = :z AND id = :id RETURNING {COLUMNS}"),
        {"z": zone_id, "id": category_id, "p": parent_id, "n": name})).first()
    return _row(row) if row is not None else None


async def has_children(s: AsyncSession, zone_id: int, category_id: uuid.UUID) -> bool:
    """Children of any org count (the FK is RESTRICT): checked as a zone-wide fact."""
    return bool((await s.execute(text(
        "SELECT EXISTS (SELECT 1 FROM arena.categories WHERE zone_id = :z AND parent_id = :id)"),
        {"z": zone_id, "id": category_id})).scalar())


async def delete_category(s: AsyncSession, zone_id: int, category_id: uuid.UUID) -> bool:
    return (await s.execute(text("DELETE FROM arena.categories WHERE zone_id = :z AND id = :id RETURNING id"),
                            {"z": zone_id, "id": category_id})).first() is not None


async def link_question(s: AsyncSession, zone_id: int, org_id: uuid.UUID | None, question_id: uuid.UUID,
                        category_ids: Sequence[uuid.UUID]) -> None:
    """Replace the question's category links with `category_ids`."""
    await s.execute(text("DELETE FROM arena.question_categories WHERE zone_id = :z AND question_id = :q"),
                    {"z": zone_id, "q": question_id})
    if category_ids:
        await s.execute(text(
            "INSERT INTO arena.question_categories (zone_id, org_id, question_id, category_id)"
            " VALUES (:z, :o, :q, :c)"),
            [{"z": zone_id, "o": org_id, "q": question_id, "c": c} for c in dict.fromkeys(category_ids)])


async def categories_of(s: AsyncSession, zone_id: int, question_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The visible category ids of each question."""
    rows = (await s.execute(text(
        "SELECT qc.question_id, qc.category_id FROM arena.question_categories qc"
        " JOIN arena.categories c ON c.id = qc.category_id"
        " WHERE qc.zone_id = :z AND qc.question_id = ANY(CAST(:ids AS uuid[])) ORDER BY c.name"),
        {"z": zone_id, "ids": [str(i) for i in question_ids]})).all()
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    for question_id, category_id in rows:
        out.setdefault(question_id, []).append(category_id)
    return out
