"""SQL of the problem bank (`classroom.problems`); rows come back as `ProblemRow`.

Every query names (zone_id, org_id) although RLS scopes the transaction too: the index leads
with them, and a query never leans on the policy alone. `pick_problems` and `get_problem` are
the live session's way in (card rotation, answer checking)."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = ("id, zone_id, org_id, class_id, type, difficulty, grade, prompt, answer, choices, explanation, read_aloud,"
           " time_limit_seconds, created_by, created_at, updated_at")
# The fields a writer sets (names of `ProblemFields`).
FIELDS = ("class_id", "type", "difficulty", "grade", "prompt", "answer", "choices", "explanation", "read_aloud",
          "time_limit_seconds")
_VALUES = ("CAST(:class_id AS uuid), :type, :difficulty, :grade, :prompt, :answer, CAST(:choices AS jsonb),"
           " :explanation, :read_aloud, :time_limit_seconds")


@dataclass(frozen=True)
class ProblemRow:
    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID
    class_id: uuid.UUID | None
    type: str
    difficulty: int
    grade: int
    prompt: str
    answer: str
    choices: list[str] | None
    explanation: str
    read_aloud: bool
    time_limit_seconds: int | None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _row(row: Any) -> ProblemRow:
    return ProblemRow(**row._mapping)


def _params(fields: dict[str, Any]) -> dict[str, Any]:
    """Bind values of the writer's fields (choices as JSON text for the jsonb cast)."""
    out = {name: fields.get(name) for name in FIELDS}
    out["choices"] = json.dumps(out["choices"], ensure_ascii=False) if out["choices"] is not None else None
    out["explanation"] = out["explanation"] or ""
    out["read_aloud"] = bool(out["read_aloud"])
    return out


@dataclass(frozen=True)
class ProblemFilter:
    grade: int | None = None
    difficulty: int | None = None
    type: str | None = None
    class_id: uuid.UUID | None = None  # that class's problems and the shared ones


async def list_problems(s: AsyncSession, zone_id: int, org_id: uuid.UUID, where: ProblemFilter,
                        after: tuple[Any, ...] | None, limit: int) -> list[ProblemRow]:
    """Newest first (created_at DESC, id DESC), after the keyset position `after`; `limit` rows."""
    after_ts, after_id = after if after is not None else (None, None)
    rows = (await s.execute(text(
        f"SELECT {COLUMNS} FROM classroom.problems WHERE zone_id = :z AND org_id = :o"
        " AND (CAST(:grade AS smallint) IS NULL OR grade = :grade)"
        " AND (CAST(:difficulty AS smallint) IS NULL OR difficulty = :difficulty)"
        " AND (CAST(:type AS text) IS NULL OR type = :type)"
        " AND (CAST(:class_id AS uuid) IS NULL OR class_id IS NULL OR class_id = :class_id)"
        " AND (CAST(:after_ts AS timestamptz) IS NULL OR (created_at, id) < (:after_ts, :after_id))"
        " ORDER BY created_at DESC, id DESC LIMIT :limit"),
        {"z": zone_id, "o": org_id, "grade": where.grade, "difficulty": where.difficulty, "type": where.type,
         "class_id": where.class_id, "after_ts": after_ts, "after_id": after_id, "limit": limit})).all()
    return [_row(r) for r in rows]


async def get_problem(s: AsyncSession, problem_id: uuid.UUID, *, lock: bool = False) -> ProblemRow | None:
    """The problem, as the transaction's tenant context (RLS) lets it be seen; None otherwise.
    Callers that know the org compare `row.org_id` too (`service.one_problem`)."""
    row = (await s.execute(text(f"SELECT {COLUMNS} FROM classroom.problems WHERE id = :id"
                                + (" FOR UPDATE" if lock else "")), {"id": problem_id})).first()
    return _row(row) if row is not None else None


async def pick_problems(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID | None,
                        grade: int | None, difficulty: int | None, type: str | None,  # noqa: A002 - the column
                        exclude_ids: Sequence[uuid.UUID], limit: int) -> list[ProblemRow]:
    """Up to `limit` problems for the next cards of a session, in random order: the org's shared
    problems plus the class's own (`class_id` None: shared only), of that grade / difficulty /
    type where given (None: any), none of `exclude_ids` (the cards shown already)."""
    rows = (await s.execute(text(
        f"SELECT {COLUMNS} FROM classroom.problems WHERE zone_id = :z AND org_id = :o"
        " AND (class_id IS NULL OR class_id = CAST(:class_id AS uuid))"
        " AND (CAST(:grade AS smallint) IS NULL OR grade = :grade)"
        " AND (CAST(:difficulty AS smallint) IS NULL OR difficulty = :difficulty)"
        " AND (CAST(:type AS text) IS NULL OR type = :type)"
        " AND NOT (id = ANY(CAST(:exclude AS uuid[])))"
        " ORDER BY random() LIMIT :limit"),
        {"z": zone_id, "o": org_id, "class_id": class_id, "grade": grade, "difficulty": difficulty, "type": type,
         "exclude": [str(i) for i in exclude_ids], "limit": max(limit, 0)})).all()
    return [_row(r) for r in rows]


async def insert_problem(s: AsyncSession, zone_id: int, org_id: uuid.UUID, created_by: uuid.UUID,
                         fields: dict[str, Any]) -> ProblemRow:
    """`fields`: `ProblemFields.model_dump()`."""
    row = (await s.execute(text(
        f"INSERT INTO classroom.problems (zone_id, org_id, {', '.join(FIELDS)}, created_by)"
        f" VALUES (:z, :o, {_VALUES}, :by) RETURNING {COLUMNS}"),
        {"z": zone_id, "o": org_id, "by": created_by, **_params(fields)})).one()
    return _row(row)


async def insert_problems(s: AsyncSession, zone_id: int, org_id: uuid.UUID, created_by: uuid.UUID,
                          many: Sequence[dict[str, Any]]) -> int:
    """Insert every problem of an import (one statement per row, one round trip batch)."""
    if not many:
        return 0
    await s.execute(text(
        f"INSERT INTO classroom.problems (zone_id, org_id, {', '.join(FIELDS)}, created_by)"
        f" VALUES (:z, :o, {_VALUES}, :by)"),
        [{"z": zone_id, "o": org_id, "by": created_by, **_params(f)} for f in many])
    return len(many)


async def update_problem(s: AsyncSession, zone_id: int, org_id: uuid.UUID, problem_id: uuid.UUID,
                         fields: dict[str, Any]) -> ProblemRow | None:
    """Replace the writer's fields with the merged, validated ones."""
    sets = ", ".join(f"{name} = {value.strip()}" for name, value in zip(FIELDS, _VALUES.split(","), strict=True))
    row = (await s.execute(text(
        f"UPDATE classroom.problems SET {sets}, updated_at = now()"
        f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {COLUMNS}"),
        {"z": zone_id, "o": org_id, "id": problem_id, **_params(fields)})).first()
    return _row(row) if row is not None else None


async def delete_problem(s: AsyncSession, zone_id: int, org_id: uuid.UUID, problem_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        "DELETE FROM classroom.problems WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING id"),
        {"z": zone_id, "o": org_id, "id": problem_id})).first() is not None
