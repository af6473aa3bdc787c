"""SQL of attempt lists: one exam's attempts (newest first) and who of a set of students has one."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class AttemptListRow:
    id: uuid.UUID
    student_id: uuid.UUID
    class_id: uuid.UUID | None
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    n_responses: int
    raw_score: int
    max_score: int
    scaled_score: float | None


async def list_attempts(s: AsyncSession, zone_id: int, org_id: uuid.UUID, exam_id: uuid.UUID, *,
                        status: str | None, class_ids: Sequence[uuid.UUID] | None,
                        after: tuple[Any, ...] | None, limit: int) -> list[AttemptListRow]:
    """`limit` attempts of the exam ordered by (started_at, id) descending, after the key `after`;
    `class_ids` (when not None) keeps only attempts made in those classes."""
    rows = (await s.execute(text(
        "SELECT id, student_id, class_id, status, started_at, ended_at, n_responses, raw_score, max_score,"
        " scaled_score FROM exam.attempts WHERE zone_id = :z AND org_id = :o AND exam_id = :e"
        " AND (CAST(:status AS text) IS NULL OR status = :status)"
        " AND (NOT CAST(:scoped AS boolean) OR class_id = ANY(CAST(:classes AS uuid[])))"
        " AND (CAST(:after_at AS timestamptz) IS NULL OR (started_at, id) < (:after_at, :after_id))"
        " ORDER BY started_at DESC, id DESC LIMIT :limit"),
        {"z": zone_id, "o": org_id, "e": exam_id, "status": status, "scoped": class_ids is not None,
         "classes": list(class_ids or []), "after_at": after[0] if after else None,
         "after_id": after[1] if after else None, "limit": limit})).all()
    return [AttemptListRow(**r._mapping) for r in rows]


async def students_with_attempts(s: AsyncSession, zone_id: int, org_id: uuid.UUID, exam_id: uuid.UUID,
                                 student_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these students (user ids) have any attempt of the exam."""
    if not student_ids:
        return set()
    return set((await s.execute(text(
        "SELECT DISTINCT student_id FROM exam.attempts WHERE zone_id = :z AND org_id = :o AND exam_id = :e"
        " AND student_id = ANY(CAST(:ids AS uuid[]))"),
        {"z": zone_id, "o": org_id, "e": exam_id, "ids": list(student_ids)})).scalars())
