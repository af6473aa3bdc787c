"""SQL of `arena.questions`; rows come back as `QuestionRow`. Every query names zone_id; RLS
(migration 0001: shared rows to every actor of the zone, org rows to their org) decides the rest.
Others read questions through `get_question` / `get_questions` (matches, grading, notebook)."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.arena.embeddings import Vector, literal

COLUMNS = ("id, zone_id, org_id, type, content, choices, answer, aliases, rubric, explanation, difficulty, rating, rd,"
           " plays, embedding_status, created_by, created_at, updated_at")
# The fields a writer sets (names of `QuestionFields` but category_ids).
FIELDS = ("type", "content", "choices", "answer", "aliases", "rubric", "explanation", "difficulty")
_VALUES = (":type, :content, CAST(:choices AS jsonb), :answer, CAST(:aliases AS jsonb), :rubric, :explanation,"
           " :difficulty")


@dataclass(frozen=True)
class QuestionRow:
    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID | None
    type: str
    content: str
    choices: list[str] | None
    answer: str
    aliases: list[str]
    rubric: str
    explanation: str
    difficulty: int
    rating: float
    rd: float
    plays: int
    embedding_status: str
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    category_ids: list[uuid.UUID] = field(default_factory=list)


def _row(row: Any) -> QuestionRow:
    return QuestionRow(**row._mapping)


def _params(fields: dict[str, Any]) -> dict[str, Any]:
    out = {name: fields.get(name) for name in FIELDS}
    out["choices"] = json.dumps(out["choices"], ensure_ascii=False) if out["choices"] is not None else None
    out["aliases"] = json.dumps(out["aliases"] or [], ensure_ascii=False)
    return out


@dataclass(frozen=True)
class QuestionFilter:
    type: str | None = None
    category_id: uuid.UUID | None = None
    shared: bool | None = None  # True: shared only; False: org rows only; None: both
    difficulty: int | None = None


async def list_questions(s: AsyncSession, zone_id: int, where: QuestionFilter, after: tuple[Any, ...] | None,
                         limit: int) -> list[QuestionRow]:
    """Newest first (created_at DESC, id DESC) after the keyset position `after`."""
    after_ts, after_id = after if after is not None else (None, None)
    rows = (await s.execute(text(
        f"SELECT {COLUMNS} FROM arena.questions q WHERE zone_id = :z"
        " AND (CAST(:type AS text) IS NULL OR type = :type)"
        " AND (CAST(:difficulty AS smallint) IS NULL OR difficulty = :difficulty)"
        " AND (CAST(:shared AS boolean) IS NULL OR (org_id IS NULL) = :shared)"
        " AND (CAST(:category AS uuid) IS NULL OR EXISTS (SELECT 1 FROM arena.question_categories qc"
        "      WHERE qc.question_id = q.id AND qc.category_id = :category))"
        " AND (CAST(:after_ts AS timestamptz) IS NULL OR (created_at, id) < (:after_ts, :after_id))"
        " ORDER BY created_at DESC, id DESC LIMIT :limit"),
        {"z": zone_id, "type": where.type, "difficulty": where.difficulty, "shared": where.shared,
         "category": where.category_id, "after_ts": after_ts, "after_id": after_id, "limit": limit})).all()
    return [_row(r) for r in rows]


async def get_question(s: AsyncSession, zone_id: int, question_id: uuid.UUID, *,
                       lock: bool = False) -> QuestionRow | None:
    """The question as the transaction's tenant context lets it be seen; None otherwise."""
    row = (await s.execute(text(f"SELECT {COLUMNS} FROM arena.questions WHERE zone_id = :z AND id = :id"
                                + (" FOR UPDATE" if lock else "")), {"z": zone_id, "id": question_id})).first()
    return _row(row) if row is not None else None


async def get_questions(s: AsyncSession, zone_id: int, ids: Sequence[uuid.UUID]) -> list[QuestionRow]:
    """The visible ones of `ids`, in the order given."""
    rows = (await s.execute(text(f"SELECT {COLUMNS} FROM arena.questions WHERE zone_id = :z"
                                 " AND id = ANY(CAST(:ids AS uuid[]))"), {"z": zone_id, "ids": [str(i) for i in ids]})).all()
    by_id = {r.id: _row(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


async def insert_question(s: AsyncSession, zone_id: int, org_id: uuid.UUID | None, created_by: uuid.UUID | None,
                          fields: dict[str, Any], embedding: Vector | None) -> QuestionRow:
    """`fields`: `QuestionFields.model_dump()`; with an embedding the row is `ready`, else `pending`."""
    row = (await s.execute(text(
        f"INSERT INTO arena.questions (zone_id, org_id, {', '.join(FIELDS)}, created_by, embedding, embedding_status)"
        f" VALUES (:z, :o, {_VALUES}, :by, CAST(:emb AS vector), :status) RETURNING {COLUMNS}"),
        {"z": zone_id, "o": org_id, "by": created_by, **_params(fields),
         "emb": literal(embedding) if embedding is not None else None,
         "status": "ready" if embedding is not None else "pending"})).one()
    return _row(row)


async def update_question(s: AsyncSession, zone_id: int, question_id: uuid.UUID, fields: dict[str, Any],
                          embedding: Vector | None, reembed: bool) -> QuestionRow | None:
    """Replace the writer's fields; `reembed`: the content changed, so the embedding is replaced
    (`embedding` None: pending until the backfill)."""
    sets = ", ".join(f"{name} = {value.strip()}" for name, value in zip(FIELDS, _VALUES.split(","), strict=True))
    if reembed:
        sets += (", embedding = CAST(:emb AS vector),"
                 " embedding_status = CASE WHEN CAST(:emb AS text) IS NULL THEN 'pending' ELSE 'ready' END")
    row = (await s.execute(text(
        f"UPDATE arena.questions SET {sets}, updated_at = now() WHERE zone_id = :z AND id = :id RETURNING {COLUMNS}"),
        {"z": zone_id, "id": question_id, **_params(fields),
         "emb": literal(embedding) if embedding is not None else None})).first()
    return _row(row) if row is not None else None


async def delete_question(s: AsyncSession, zone_id: int, question_id: uuid.UUID) -> bool:
    return (await s.execute(text("DELETE FROM arena.questions WHERE zone_id = :z AND id = :id RETURNING id"),
                            {"z": zone_id, "id": question_id})).first() is not None


async def is_played(s: AsyncSession, zone_id: int, question_id: uuid.UUID) -> bool:
    """Whether a match round used the question (rounds keep a reference: it cannot be deleted)."""
    return bool((await s.execute(text(
        "SELECT EXISTS (SELECT 1 FROM arena.match_rounds WHERE zone_id = :z AND question_id = :id)"),
        {"z": zone_id, "id": question_id})).scalar())


async def embedding_of(s: AsyncSession, zone_id: int, question_id: uuid.UUID) -> list[float] | None:
    value = (await s.execute(text("SELECT embedding::text FROM arena.questions WHERE zone_id = :z AND id = :id"),
                             {"z": zone_id, "id": question_id})).scalar()
    return [float(x) for x in value.strip("[]").split(",")] if value else None


@dataclass(frozen=True)
class PendingRow:
    id: uuid.UUID
    content: str
    updated_at: dt.datetime


async def pending_embeddings(s: AsyncSession, zone_id: int, limit: int) -> list[PendingRow]:
    """Oldest first. No lock is held (the embed call happens after the transaction):
    `set_embedding` stores a vector only while the row is unchanged."""
    rows = (await s.execute(text(
        "SELECT id, content, updated_at FROM arena.questions WHERE zone_id = :z AND embedding_status = 'pending'"
        " ORDER BY updated_at, id LIMIT :n"), {"z": zone_id, "n": limit})).all()
    return [PendingRow(r.id, r.content, r.updated_at) for r in rows]


async def set_embedding(s: AsyncSession, zone_id: int, row: PendingRow, embedding: Vector) -> bool:
    """Store the embedding unless the row changed since it was read (a newer content wins)."""
    return (await s.execute(text(
        "UPDATE arena.questions SET embedding = CAST(:emb AS vector), embedding_status = 'ready'"
        " WHERE zone_id = :z AND id = :id AND updated_at = :ts AND embedding_status = 'pending' RETURNING id"),
        {"z": zone_id, "id": row.id, "ts": row.updated_at, "emb": literal(embedding)})).first() is not None
