"""SQL of the item import: the upsert by code, the import report and its row errors."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_UPSERT = """
INSERT INTO exam.items AS i (zone_id, org_id, bank_id, code, stem, options, answer_key, option_scores, content_area,
                             model, a, b, c, d, thresholds, max_score, enemy_tags, created_by)
SELECT :z, :o, :bank, r.code, r.stem, r.options, r.answer_key, r.option_scores, r.content_area, r.model, r.a, r.b,
       r.c, r.d, r.thresholds, r.max_score, r.enemy_tags, :by
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(code text, stem text, options jsonb, answer_key text,
     option_scores jsonb, content_area text, model text, a float8, b float8, c float8, d float8, thresholds float8[],
     max_score smallint, enemy_tags text[])
ON CONFLICT (zone_id, org_id, bank_id, code) DO UPDATE SET
    stem = EXCLUDED.stem, options = EXCLUDED.options, answer_key = EXCLUDED.answer_key,
    option_scores = EXCLUDED.option_scores, content_area = EXCLUDED.content_area, model = EXCLUDED.model,
    a = EXCLUDED.a, b = EXCLUDED.b, c = EXCLUDED.c, d = EXCLUDED.d, thresholds = EXCLUDED.thresholds,
    max_score = EXCLUDED.max_score, enemy_tags = EXCLUDED.enemy_tags, status = 'active',
    revision = i.revision + 1, updated_at = now()
WHERE (i.stem, i.options, i.answer_key, i.option_scores, i.content_area, i.model, i.a, i.b, i.c, i.d, i.thresholds,
       i.enemy_tags, i.status)
      IS DISTINCT FROM
      (EXCLUDED.stem, EXCLUDED.options, EXCLUDED.answer_key, EXCLUDED.option_scores, EXCLUDED.content_area,
       EXCLUDED.model, EXCLUDED.a, EXCLUDED.b, EXCLUDED.c, EXCLUDED.d, EXCLUDED.thresholds, EXCLUDED.enemy_tags,
       'active')
RETURNING i.id, (i.xmax = 0) AS inserted
"""

@dataclass(frozen=True)
class Upserted:
    id: uuid.UUID
    inserted: bool


@dataclass(frozen=True)
class NewImport:
    id: uuid.UUID
    bank_id: uuid.UUID
    filename: str
    format: str
    mode: str
    status: str
    total_rows: int
    created_rows: int
    updated_rows: int
    error_rows: int
    bank_version: int | None
    created_by: uuid.UUID


@dataclass(frozen=True)
class ImportHead:
    """One row of `exam.item_imports`, as the report shows it."""

    id: uuid.UUID
    bank_id: uuid.UUID
    filename: str
    format: str
    mode: str
    status: str
    total_rows: int
    created_rows: int
    updated_rows: int
    error_rows: int
    bank_version: int | None
    created_at: dt.datetime


async def upsert_items(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, created_by: uuid.UUID,
                       docs: list[dict[str, Any]]) -> list[Upserted]:
    """Create or update by code; identical rows are left alone (and not returned)."""
    rows = (await s.execute(text(_UPSERT), {"z": zone_id, "o": org_id, "bank": bank_id, "by": created_by,
                                            "rows": json.dumps(docs)})).all()
    return [Upserted(r.id, r.inserted) for r in rows]


async def insert_import(s: AsyncSession, zone_id: int, org_id: uuid.UUID, head: NewImport,
                        errors: list[dict[str, Any]]) -> None:
    """The import's report row and its row errors ({row, field, code, message})."""
    await s.execute(text(
        "INSERT INTO exam.item_imports (id, zone_id, org_id, bank_id, filename, format, mode, status, total_rows,"
        " created_rows, updated_rows, error_rows, bank_version, created_by)"
        " VALUES (:id, :z, :o, :bank_id, :filename, :format, :mode, :status, :total_rows, :created_rows,"
        " :updated_rows, :error_rows, :bank_version, :created_by)"),
        {"z": zone_id, "o": org_id, **asdict(head)})
    if errors:
        await s.execute(text(
            "INSERT INTO exam.item_import_errors (zone_id, org_id, import_id, n, row_number, field, code, message)"
            " SELECT :z, :o, :id, r.n, r.row, r.field, r.code, r.message FROM jsonb_to_recordset(CAST(:errs AS jsonb))"
            " AS r(n int, row int, field text, code text, message text)"),
            {"z": zone_id, "o": org_id, "id": head.id,
             "errs": json.dumps([{"n": k, **e} for k, e in enumerate(errors)])})


async def import_head(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportHead | None:
    row = (await s.execute(text(
        "SELECT id, bank_id, filename, format, mode, status, total_rows, created_rows, updated_rows, error_rows,"
        " bank_version, created_at FROM exam.item_imports WHERE zone_id = :z AND org_id = :o AND id = :id"),
        {"z": zone_id, "o": org_id, "id": import_id})).first()
    return ImportHead(**row._mapping) if row is not None else None


async def import_errors(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID) -> list[dict[str, Any]]:
    """The stored row errors in file order: [{row, field, code, message}]."""
    rows = (await s.execute(text(
        "SELECT row_number AS row, field, code, message FROM exam.item_import_errors"
        " WHERE zone_id = :z AND org_id = :o AND import_id = :id ORDER BY n"),
        {"z": zone_id, "o": org_id, "id": import_id})).all()
    return [dict(r._mapping) for r in rows]
