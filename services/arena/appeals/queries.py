"""SQL of grade appeals: the appealed answer with its match and seat, appeals, decisions, and the
overturned answer's new grade. Zone-level rows (RLS: the zone of the transaction)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = ("a.id, a.match_id, a.round_no, a.seat, a.user_id, a.reason, a.status, a.decided_by, a.decided_at,"
           " a.created_at")


@dataclass(frozen=True, slots=True)
class AppealRow:
    id: uuid.UUID
    match_id: uuid.UUID
    round_no: int
    seat: int
    user_id: uuid.UUID
    reason: str
    status: str
    decided_by: uuid.UUID | None
    decided_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AnsweredRow:
    """An answer as an appeal sees it: the match around it and both seats' scores."""

    match_id: uuid.UUID
    status: str
    rated: bool
    ratings_applied: bool  # the rating consumer has applied the match (refunds move applied ratings)
    topic: str
    round_count: int
    round_seconds: int
    end_reason: str | None
    round_no: int
    seat: int
    user_id: uuid.UUID | None
    verdict: str
    score: float
    points: int
    elapsed_ms: int
    seat_score: int
    other_score: int
    outcome: str | None


async def answered(s: AsyncSession, match_id: uuid.UUID, round_no: int, *, user_id: uuid.UUID | None = None,
                   seat: int | None = None, lock: bool = False) -> AnsweredRow | None:
    """The answer of `user_id` (an appeal being made) or of `seat` (one being decided)."""
    who, value = ("ra.user_id", user_id) if user_id is not None else ("ra.seat", seat)
    r = (await s.execute(text(
        "SELECT m.id AS match_id, m.status, m.rated, m.ratings_applied_at IS NOT NULL AS ratings_applied, m.topic,"
        " m.round_count, m.round_seconds, m.end_reason,"
        " ra.round_no, ra.seat,"
        " ra.user_id, ra.verdict, ra.score, ra.points, ra.elapsed_ms, mp.score AS seat_score,"
        " coalesce(op.score, 0) AS other_score, mp.outcome FROM arena.round_answers ra"
        " JOIN arena.matches m ON m.id = ra.match_id"
        " JOIN arena.match_players mp ON mp.match_id = ra.match_id AND mp.seat = ra.seat"
        " LEFT JOIN arena.match_players op ON op.match_id = ra.match_id AND op.seat <> ra.seat"
        f" WHERE ra.match_id = :m AND ra.round_no = :n AND {who} = :who"
        + (" FOR UPDATE OF ra, mp" if lock else "")), {"m": match_id, "n": round_no, "who": value})).first()
    return AnsweredRow(**r._mapping) if r else None


async def insert(s: AsyncSession, zone_id: int, a: AnsweredRow, user_id: uuid.UUID, reason: str) -> AppealRow | None:
    """The new appeal, or None when this answer was appealed before."""
    r = (await s.execute(text(
        "INSERT INTO arena.appeals AS a (zone_id, match_id, round_no, seat, user_id, reason)"
        f" VALUES (:z, :m, :n, :s, :u, :r) ON CONFLICT (match_id, round_no, seat) DO NOTHING RETURNING {COLUMNS}"),
        {"z": zone_id, "m": a.match_id, "n": a.round_no, "s": a.seat, "u": user_id, "r": reason})).first()
    return AppealRow(**r._mapping) if r else None


async def get(s: AsyncSession, appeal_id: uuid.UUID, *, lock: bool = False) -> AppealRow | None:
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM arena.appeals a WHERE a.id = :id"
                              + (" FOR UPDATE" if lock else "")), {"id": appeal_id})).first()
    return AppealRow(**r._mapping) if r else None


async def org_of_player(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> uuid.UUID | None:
    r = (await s.execute(text("SELECT org_id FROM arena.players WHERE zone_id = :z AND user_id = :u"),
                         {"z": zone_id, "u": user_id})).first()
    return r.org_id if r else None


async def list_appeals(s: AsyncSession, zone_id: int, *, user_id: uuid.UUID | None, org_id: uuid.UUID | None,
                       status: str | None, limit: int) -> list[AppealRow]:
    """Newest first: one player's (`user_id`), or those of an org's players (`org_id`), or all."""
    where: list[str] = ["a.zone_id = :z"]
    params: dict[str, Any] = {"z": zone_id, "limit": limit}
    if user_id is not None:
        where.append("a.user_id = :u")
        params["u"] = user_id
    if org_id is not None:
        where.append("p.org_id = :o")
        params["o"] = org_id
    if status is not None:
        where.append("a.status = :st")
        params["st"] = status
    rows = await s.execute(text(
        f"SELECT {COLUMNS} FROM arena.appeals a JOIN arena.players p ON p.zone_id = a.zone_id AND p.user_id = a.user_id"
        f" WHERE {' AND '.join(where)} ORDER BY a.created_at DESC LIMIT :limit"), params)
    return [AppealRow(**r._mapping) for r in rows]


async def decide(s: AsyncSession, appeal_id: uuid.UUID, status: str, by: uuid.UUID) -> AppealRow:
    r = (await s.execute(text(
        "UPDATE arena.appeals a SET status = :st, decided_by = :by, decided_at = now() WHERE a.id = :id"
        f" RETURNING {COLUMNS}"), {"id": appeal_id, "st": status, "by": by})).one()
    return AppealRow(**r._mapping)


async def regrade(s: AsyncSession, match_id: uuid.UUID, round_no: int, seat: int, verdict: str, score: float,
                  points: int, feedback: str) -> None:
    """The overturned answer's new grade, and its seat's totals moved by the difference."""
    await s.execute(text(
        "WITH old AS (SELECT verdict, points FROM arena.round_answers WHERE match_id = :m AND round_no = :n"
        " AND seat = :s), upd AS (UPDATE arena.round_answers SET verdict = :v, score = :sc, points = :p,"
        " grader = 'appeal', feedback = :f WHERE match_id = :m AND round_no = :n AND seat = :s)"
        " UPDATE arena.match_players mp SET score = mp.score + :p - old.points,"
        " correct = mp.correct + (:v = 'correct')::int - (old.verdict = 'correct')::int"
        " FROM old WHERE mp.match_id = :m AND mp.seat = :s"),
        {"m": match_id, "n": round_no, "s": seat, "v": verdict, "sc": score, "p": points, "f": feedback})
