"""SQL of the item endpoints; rows come back as `ItemRow`."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ITEM_COLUMNS = ("id, bank_id, code, stem, options, answer_key, option_scores, content_area, model, a, b, c, d,"
                " thresholds, max_score, enemy_tags, status, revision, created_at, updated_at")


@dataclass(frozen=True)
class ItemRow:
    """One row of `exam.items` (thresholds [] for logistic items)."""

    id: uuid.UUID
    bank_id: uuid.UUID
    code: str
    stem: str
    options: list[dict[str, str]]
    answer_key: str | None
    option_scores: dict[str, int] | None
    content_area: str
    model: str
    a: float
    b: float | None
    c: float
    d: float
    thresholds: list[float]
    max_score: int
    enemy_tags: list[str]
    status: str
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime


def _item(row: Any) -> ItemRow:
    doc = dict(row._mapping)
    doc["thresholds"] = list(doc["thresholds"] or [])
    return ItemRow(**doc)


async def get_item(s: AsyncSession, zone_id: int, org_id: uuid.UUID, item_id: uuid.UUID, *,
                   lock: bool = False) -> ItemRow | None:
    row = (await s.execute(text(
        f"SELECT {ITEM_COLUMNS} FROM exam.items WHERE zone_id = :z AND org_id = :o AND id = :id"
        + (" FOR UPDATE" if lock else "")), {"z": zone_id, "o": org_id, "id": item_id})).first()
    return _item(row) if row is not None else None


async def insert_item(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, created_by: uuid.UUID,
                      fields: dict[str, Any]) -> ItemRow:
    """`fields`: `ItemFields.db_params()`."""
    row = (await s.execute(text(
        "INSERT INTO exam.items (zone_id, org_id, bank_id, code, stem, options, answer_key, option_scores,"
        " content_area, model, a, b, c, d, thresholds, max_score, enemy_tags, created_by)"
        " VALUES (:z, :o, :bank, :code, :stem, CAST(:options AS jsonb), :answer_key,"
        " CAST(:option_scores AS jsonb), :content_area, :model, :a, :b, :c, :d, :thresholds, :max_score,"
        f" :enemy_tags, :by) RETURNING {ITEM_COLUMNS}"),
        {"z": zone_id, "o": org_id, "bank": bank_id, "by": created_by, **fields})).one()
    return _item(row)


async def list_items(s: AsyncSession, zone_id: int, org_id: uuid.UUID, *, bank_id: uuid.UUID | None,
                     content_area: str | None, status: str | None, q: str | None,
                     after: tuple[Any, ...] | None, limit: int) -> list[ItemRow]:
    """Newest first, after the keyset position `after` (created_at, id); `limit` rows."""
    rows = (await s.execute(text(
        f"SELECT {ITEM_COLUMNS} FROM exam.items WHERE zone_id = :z AND org_id = :o"
        " AND (CAST(:bank AS uuid) IS NULL OR bank_id = :bank)"
        " AND (CAST(:area AS text) IS NULL OR content_area = :area)"
        " AND (CAST(:status AS text) IS NULL OR status = :status)"
        " AND (CAST(:q AS text) IS NULL OR code ILIKE :like OR stem ILIKE :like)"
        " AND (CAST(:after_ts AS timestamptz) IS NULL OR (created_at, id) < (:after_ts, :after_id))"
        " ORDER BY created_at DESC, id DESC LIMIT :limit"),
        {"z": zone_id, "o": org_id, "bank": bank_id, "area": content_area, "status": status, "q": q,
         "like": f"%{escape_like(q)}%" if q else None, "after_ts": after[0] if after else None,
         "after_id": after[1] if after else None, "limit": limit})).all()
    return [_item(r) for r in rows]


def escape_like(value: str | None) -> str:
    return (value or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def update_item(s: AsyncSession, zone_id: int, org_id: uuid.UUID, item_id: uuid.UUID,
                      fields: dict[str, Any]) -> ItemRow:
    """Write every field (`ItemFields.db_params()`) and bump the item's revision."""
    row = (await s.execute(text(
        "UPDATE exam.items SET code = :code, stem = :stem, options = CAST(:options AS jsonb),"
        " answer_key = :answer_key, option_scores = CAST(:option_scores AS jsonb), content_area = :content_area,"
        " model = :model, a = :a, b = :b, c = :c, d = :d, thresholds = :thresholds, max_score = :max_score,"
        " enemy_tags = :enemy_tags, revision = revision + 1, updated_at = now()"
        f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {ITEM_COLUMNS}"),
        {"z": zone_id, "o": org_id, "id": item_id, **fields})).one()
    return _item(row)


async def published_fixed_exam_with(s: AsyncSession, zone_id: int, org_id: uuid.UUID,
                                    item_id: uuid.UUID) -> uuid.UUID | None:
    """A published fixed-form exam whose form holds the item, if any."""
    exam_id: uuid.UUID | None = (await s.execute(text(
        "SELECT id FROM exam.exams WHERE zone_id = :z AND org_id = :o AND status = 'published' AND kind = 'fixed'"
        " AND :id = ANY(item_ids) LIMIT 1"), {"z": zone_id, "o": org_id, "id": item_id})).scalar_one_or_none()
    return exam_id


async def retire_item(s: AsyncSession, zone_id: int, org_id: uuid.UUID, item_id: uuid.UUID) -> ItemRow:
    row = (await s.execute(text(
        "UPDATE exam.items SET status = 'retired', revision = revision + 1, updated_at = now()"
        f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {ITEM_COLUMNS}"),
        {"z": zone_id, "o": org_id, "id": item_id})).one()
    return _item(row)
