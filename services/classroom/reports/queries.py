"""SQL of a session's report: its cards with their problems, and every stored answer. Runs in the
caller's tenant transaction (RLS by org). The cards query is also the homework's way to a
session's cards (services/classroom/homework)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class CardWithProblem:
    """A card shown in the session and the problem behind it. The problem may have been deleted
    from the bank since (no foreign key), so its fields can be None."""

    card_no: int
    shown_at: dt.datetime
    closes_at: dt.datetime
    closed_at: dt.datetime | None
    problem_id: uuid.UUID
    type: str | None
    prompt: str | None
    answer: str | None
    choices: list[str] | None
    explanation: str | None
    read_aloud: bool | None


@dataclass(frozen=True)
class StoredAnswer:
    card_no: int
    participant_id: uuid.UUID
    answer: str
    correct: bool
    points: int
    elapsed_ms: int
    mode: str


_CARDS = ("SELECT c.card_no, c.shown_at, c.closes_at, c.closed_at, c.problem_id, p.type, p.prompt, p.answer,"
          " p.choices, p.explanation, p.read_aloud"
          " FROM classroom.session_cards c LEFT JOIN classroom.problems p"
          " ON p.id = c.problem_id AND p.zone_id = c.zone_id AND p.org_id = c.org_id"
          " WHERE c.session_id = :sid")


def _card(r: Any) -> CardWithProblem:
    return CardWithProblem(**r._mapping)


async def cards_with_problems(s: AsyncSession, session_id: uuid.UUID) -> list[CardWithProblem]:
    rows = await s.execute(text(_CARDS + " ORDER BY c.card_no"), {"sid": session_id})
    return [_card(r) for r in rows]


async def card_with_problem(s: AsyncSession, session_id: uuid.UUID, card_no: int) -> CardWithProblem | None:
    r = (await s.execute(text(_CARDS + " AND c.card_no = :n"), {"sid": session_id, "n": card_no})).first()
    return _card(r) if r else None


async def answers_of(s: AsyncSession, session_id: uuid.UUID, participant_id: uuid.UUID | None = None
                     ) -> list[StoredAnswer]:
    """Every answer of the session (or of one participant), in card order."""
    rows = await s.execute(text(
        "SELECT card_no, participant_id, answer, correct, points, elapsed_ms, mode FROM classroom.answers"
        " WHERE session_id = :sid AND (CAST(:pid AS uuid) IS NULL OR participant_id = :pid)"
        " ORDER BY card_no, answered_at"), {"sid": session_id, "pid": participant_id})
    return [StoredAnswer(**r._mapping) for r in rows]
