"""SQL of `arena.notebook` (personal rows: RLS `user_id = app.user_id`, zone staff too)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The question's answer and explanation only once the user has played it (or for staff): a
# bookmark must not reveal the answer of a question a match may still draw.
_ENTRY = ("SELECT n.question_id, n.bookmarked, n.wrong_count, n.last_answer, n.ai_feedback, n.last_match_id,"
          " n.created_at, n.updated_at, q.type, q.content, q.choices, q.difficulty,"
          " (:staff OR n.wrong_count > 0 OR EXISTS (SELECT 1 FROM arena.round_answers ra WHERE ra.zone_id = n.zone_id"
          "   AND ra.user_id = n.user_id AND ra.question_id = n.question_id)) AS revealed,"
          " q.answer, q.explanation"
          " FROM arena.notebook n JOIN arena.questions q ON q.id = n.question_id")


@dataclass(frozen=True)
class EntryRow:
    question_id: uuid.UUID
    bookmarked: bool
    wrong_count: int
    last_answer: str
    ai_feedback: str
    last_match_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    type: str
    content: str
    choices: list[str] | None
    difficulty: int
    revealed: bool
    answer: str
    explanation: str


def _row(row: Any) -> EntryRow:
    return EntryRow(**row._mapping)


async def list_entries(s: AsyncSession, zone_id: int, user_id: uuid.UUID, staff: bool, bookmarked: bool | None,
                       after: tuple[Any, ...] | None, limit: int) -> list[EntryRow]:
    """Latest first (updated_at DESC, question_id DESC) after the keyset position."""
    after_ts, after_id = after if after is not None else (None, None)
    rows = (await s.execute(text(
        f"{_ENTRY} WHERE n.zone_id = :z AND n.user_id = :u"
        " AND (CAST(:bm AS boolean) IS NULL OR n.bookmarked = :bm)"
        " AND (CAST(:after_ts AS timestamptz) IS NULL OR (n.updated_at, n.question_id) < (:after_ts, :after_id))"
        " ORDER BY n.updated_at DESC, n.question_id DESC LIMIT :limit"),
        {"z": zone_id, "u": user_id, "staff": staff, "bm": bookmarked, "after_ts": after_ts, "after_id": after_id,
         "limit": limit})).all()
    return [_row(r) for r in rows]


async def get_entry(s: AsyncSession, zone_id: int, user_id: uuid.UUID, question_id: uuid.UUID,
                    staff: bool) -> EntryRow | None:
    row = (await s.execute(text(f"{_ENTRY} WHERE n.zone_id = :z AND n.user_id = :u AND n.question_id = :q"),
                           {"z": zone_id, "u": user_id, "q": question_id, "staff": staff})).first()
    return _row(row) if row is not None else None


async def bookmark(s: AsyncSession, zone_id: int, user_id: uuid.UUID, question_id: uuid.UUID) -> None:
    await s.execute(text(
        "INSERT INTO arena.notebook (zone_id, user_id, question_id, bookmarked) VALUES (:z, :u, :q, true)"
        " ON CONFLICT (zone_id, user_id, question_id) DO UPDATE SET bookmarked = true, updated_at = now()"),
        {"z": zone_id, "u": user_id, "q": question_id})


async def delete_entry(s: AsyncSession, zone_id: int, user_id: uuid.UUID, question_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        "DELETE FROM arena.notebook WHERE zone_id = :z AND user_id = :u AND question_id = :q RETURNING question_id"),
        {"z": zone_id, "u": user_id, "q": question_id})).first() is not None


async def record_wrong(s: AsyncSession, zone_id: int, user_id: uuid.UUID, question_id: uuid.UUID,
                       match_id: uuid.UUID | None, answer: str, feedback: str) -> None:
    await s.execute(text(
        "INSERT INTO arena.notebook (zone_id, user_id, question_id, wrong_count, last_answer, ai_feedback, last_match_id)"
        " VALUES (:z, :u, :q, 1, :a, :f, :m)"
        " ON CONFLICT (zone_id, user_id, question_id) DO UPDATE SET wrong_count = arena.notebook.wrong_count + 1,"
        " last_answer = EXCLUDED.last_answer, ai_feedback = EXCLUDED.ai_feedback,"
        " last_match_id = EXCLUDED.last_match_id, updated_at = now()"),
        {"z": zone_id, "u": user_id, "q": question_id, "a": answer[:2000], "f": feedback[:4000], "m": match_id})


async def set_feedback(s: AsyncSession, zone_id: int, user_id: uuid.UUID, question_id: uuid.UUID,
                       match_id: uuid.UUID, feedback: str) -> bool:
    return (await s.execute(text(
        "UPDATE arena.notebook SET ai_feedback = :f, updated_at = now()"
        " WHERE zone_id = :z AND user_id = :u AND question_id = :q AND last_match_id = :m RETURNING question_id"),
        {"z": zone_id, "u": user_id, "q": question_id, "m": match_id, "f": feedback[:4000]})).first() is not None


async def practice_ids(s: AsyncSession, zone_id: int, user_id: uuid.UUID, n: int) -> list[uuid.UUID]:
    """Most-missed first (a bookmark counts as one miss), ties in random order; only questions
    the transaction can still see."""
    rows = (await s.execute(text(
        "SELECT n.question_id FROM arena.notebook n JOIN arena.questions q ON q.id = n.question_id"
        " WHERE n.zone_id = :z AND n.user_id = :u"
        " ORDER BY n.wrong_count + CASE WHEN n.bookmarked THEN 1 ELSE 0 END DESC, random() LIMIT :n"),
        {"z": zone_id, "u": user_id, "n": max(n, 0)})).all()
    return [r.question_id for r in rows]
