"""SQL of the cards shown in a session and of the answers to them."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CARD_COLUMNS = "session_id, card_no, problem_id, shown_at, closes_at, closed_at"


@dataclass(frozen=True)
class CardRow:
    session_id: uuid.UUID
    card_no: int
    problem_id: uuid.UUID
    shown_at: dt.datetime
    closes_at: dt.datetime
    closed_at: dt.datetime | None


@dataclass(frozen=True)
class AnswerRow:
    """One answer to be stored (the writer batches these)."""

    zone_id: int
    org_id: uuid.UUID
    session_id: uuid.UUID
    card_no: int
    participant_id: uuid.UUID
    answer: str
    correct: bool
    points: int
    elapsed_ms: int
    mode: str
    answered_at: dt.datetime


async def next_card_no(s: AsyncSession, session_id: uuid.UUID) -> int:
    """Call with the session row locked (FOR UPDATE): card numbers never repeat."""
    return int((await s.execute(text("SELECT coalesce(max(card_no), 0) + 1 FROM classroom.session_cards"
                                     " WHERE session_id = :sid"), {"sid": session_id})).scalar_one())


async def close_open(s: AsyncSession, session_id: uuid.UUID, at: dt.datetime) -> list[int]:
    rows = await s.execute(text("UPDATE classroom.session_cards SET closed_at = :at"
                                " WHERE session_id = :sid AND closed_at IS NULL RETURNING card_no"),
                           {"sid": session_id, "at": at})
    return [r.card_no for r in rows]


async def insert_card(s: AsyncSession, zone_id: int, org_id: uuid.UUID, session_id: uuid.UUID, card_no: int,
                      problem_id: uuid.UUID, shown_at: dt.datetime, closes_at: dt.datetime) -> CardRow:
    r = (await s.execute(text(
        "INSERT INTO classroom.session_cards (zone_id, org_id, session_id, card_no, problem_id, shown_at, closes_at)"
        f" VALUES (:z, :o, :sid, :n, :pid, :shown, :closes) RETURNING {CARD_COLUMNS}"),
        {"z": zone_id, "o": org_id, "sid": session_id, "n": card_no, "pid": problem_id, "shown": shown_at,
         "closes": closes_at})).one()
    return CardRow(**r._mapping)


async def cards_of(s: AsyncSession, session_id: uuid.UUID) -> list[CardRow]:
    rows = await s.execute(text(f"SELECT {CARD_COLUMNS} FROM classroom.session_cards WHERE session_id = :sid"
                                " ORDER BY card_no"), {"sid": session_id})
    return [CardRow(**r._mapping) for r in rows]


async def current_card(s: AsyncSession, session_id: uuid.UUID) -> CardRow | None:
    r = (await s.execute(text(f"SELECT {CARD_COLUMNS} FROM classroom.session_cards WHERE session_id = :sid"
                              " ORDER BY card_no DESC LIMIT 1"), {"sid": session_id})).first()
    return CardRow(**r._mapping) if r else None


async def insert_answers(s: AsyncSession, rows: list[AnswerRow]) -> list[tuple[uuid.UUID, int]]:
    """One statement for a batch; a second answer to the same card is ignored (the unique key).
    Returns (participant, card) of the rows actually stored."""
    cols: dict[str, list[Any]] = {k: [getattr(r, k) for r in rows] for k in (
        "zone_id", "org_id", "session_id", "card_no", "participant_id", "answer", "correct", "points", "elapsed_ms",
        "mode", "answered_at")}
    result = await s.execute(text(
        "INSERT INTO classroom.answers (zone_id, org_id, session_id, card_no, participant_id, answer, correct, points,"
        " elapsed_ms, mode, answered_at)"
        " SELECT * FROM unnest(CAST(:zone_id AS int[]), CAST(:org_id AS uuid[]), CAST(:session_id AS uuid[]),"
        " CAST(:card_no AS int[]), CAST(:participant_id AS uuid[]), CAST(:answer AS text[]), CAST(:correct AS bool[]),"
        " CAST(:points AS int[]), CAST(:elapsed_ms AS int[]), CAST(:mode AS text[]),"
        " CAST(:answered_at AS timestamptz[]))"
        " ON CONFLICT (session_id, card_no, participant_id) DO NOTHING RETURNING participant_id, card_no"), cols)
    return [(r.participant_id, r.card_no) for r in result]


async def answer_counts(s: AsyncSession, session_id: uuid.UUID, card_no: int, *, mode: str = "live") -> dict[str, int]:
    r = (await s.execute(text("SELECT count(*) AS n, count(*) FILTER (WHERE correct) AS c FROM classroom.answers"
                              " WHERE session_id = :sid AND card_no = :n AND mode = :m"),
                         {"sid": session_id, "n": card_no, "m": mode})).one()
    return {"answered": int(r.n), "correct": int(r.c)}


async def live_answers(s: AsyncSession, session_id: uuid.UUID, card_no: int) -> list[tuple[str, bool]]:
    rows = await s.execute(text("SELECT answer, correct FROM classroom.answers WHERE session_id = :sid"
                                " AND card_no = :n AND mode = 'live'"), {"sid": session_id, "n": card_no})
    return [(r.answer, r.correct) for r in rows]


async def live_scores(s: AsyncSession, session_id: uuid.UUID) -> dict[str, int]:
    rows = await s.execute(text("SELECT participant_id, sum(points) AS points FROM classroom.answers"
                                " WHERE session_id = :sid AND mode = 'live' GROUP BY participant_id"), {"sid": session_id})
    return {str(r.participant_id): int(r.points) for r in rows}
