"""SQL of the exam endpoints (reading one exam by id lives in `exam_store`)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.exam.exam_store import EXAM_COLUMNS, ExamRow, exam_row


async def bank_exists(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID) -> bool:
    return (await s.execute(text("SELECT 1 FROM exam.item_banks WHERE zone_id = :z AND org_id = :o AND id = :b"),
                            {"z": zone_id, "o": org_id, "b": bank_id})).first() is not None


async def active_item_ids(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID,
                          item_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `item_ids` that are active items of the bank."""
    return {r.id for r in (await s.execute(text(
        "SELECT id FROM exam.items WHERE zone_id = :z AND org_id = :o AND bank_id = :b AND status = 'active'"
        " AND id = ANY(:ids)"), {"z": zone_id, "o": org_id, "b": bank_id, "ids": item_ids})).all()}


async def active_items_by_area(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID) -> dict[str, int]:
    """content area -> number of active items of the bank."""
    return {r.content_area: r.n for r in (await s.execute(text(
        "SELECT content_area, count(*) AS n FROM exam.items WHERE zone_id = :z AND org_id = :o AND bank_id = :b"
        " AND status = 'active' GROUP BY content_area"), {"z": zone_id, "o": org_id, "b": bank_id})).all()}


async def insert_exam(s: AsyncSession, zone_id: int, org_id: uuid.UUID, values: dict[str, Any]) -> ExamRow:
    """`values`: title, description, kind, bank, items, limit, cat (JSON text), mean, sd, class_id,
    max_attempts, by."""
    row = (await s.execute(text(
        "INSERT INTO exam.exams (zone_id, org_id, title, description, kind, bank_id, item_ids, time_limit_seconds,"
        " cat_settings, scale_mean, scale_sd, class_id, max_attempts, created_by)"
        " VALUES (:z, :o, :title, :description, :kind, :bank, :items, :limit, CAST(:cat AS jsonb), :mean, :sd,"
        f" :class_id, :max_attempts, :by) RETURNING {EXAM_COLUMNS}"), {"z": zone_id, "o": org_id, **values})).one()
    return exam_row(row)


async def list_exams(s: AsyncSession, zone_id: int, org_id: uuid.UUID, *, status: str | None, kind: str | None,
                     class_id: uuid.UUID | None, bank_id: uuid.UUID | None, like: str | None,
                     after: tuple[Any, ...] | None, limit: int) -> list[ExamRow]:
    """Newest first, after the keyset position `after` (created_at, id); `limit` rows."""
    rows = (await s.execute(text(
        f"SELECT {EXAM_COLUMNS} FROM exam.exams WHERE zone_id = :z AND org_id = :o"
        " AND (CAST(:status AS text) IS NULL OR status = :status)"
        " AND (CAST(:kind AS text) IS NULL OR kind = :kind)"
        " AND (CAST(:class_id AS uuid) IS NULL OR class_id = :class_id)"
        " AND (CAST(:bank AS uuid) IS NULL OR bank_id = :bank)"
        " AND (CAST(:like AS text) IS NULL OR title ILIKE :like)"
        " AND (CAST(:after_ts AS timestamptz) IS NULL OR (created_at, id) < (:after_ts, :after_id))"
        " ORDER BY created_at DESC, id DESC LIMIT :limit"),
        {"z": zone_id, "o": org_id, "status": status, "kind": kind, "class_id": class_id, "bank": bank_id,
         "like": like, "after_ts": after[0] if after else None, "after_id": after[1] if after else None,
         "limit": limit})).all()
    return [exam_row(r) for r in rows]


async def update_exam(s: AsyncSession, zone_id: int, org_id: uuid.UUID, exam_id: uuid.UUID,
                      values: dict[str, Any]) -> ExamRow:
    """`values`: title, description, time_limit_seconds, scale_mean, scale_sd, class_id,
    max_attempts, bank, items, cat (JSON text)."""
    row = (await s.execute(text(
        "UPDATE exam.exams SET title = :title, description = coalesce(:description, ''),"
        " time_limit_seconds = :time_limit_seconds, scale_mean = :scale_mean, scale_sd = :scale_sd,"
        " class_id = :class_id, max_attempts = :max_attempts, bank_id = :bank, item_ids = :items,"
        " cat_settings = CAST(:cat AS jsonb), updated_at = now()"
        f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {EXAM_COLUMNS}"),
        {**values, "z": zone_id, "o": org_id, "id": exam_id})).one()
    return exam_row(row)


async def set_status(s: AsyncSession, zone_id: int, org_id: uuid.UUID, exam_id: uuid.UUID, to: str) -> ExamRow:
    """`to`: published | archived (stamps published_at / archived_at)."""
    stamp = {"published": "published_at", "archived": "archived_at"}[to]
    row = (await s.execute(text(
        f"UPDATE exam.exams SET status = :to, {stamp} = now(), updated_at = now()"
        f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {EXAM_COLUMNS}"),
        {"to": to, "z": zone_id, "o": org_id, "id": exam_id})).one()
    return exam_row(row)
