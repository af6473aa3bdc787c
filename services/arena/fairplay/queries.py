"""SQL of fair play: a player's recent rated results with how fast it answered, flags, cheater
marks and the rating changes a cheater's opponents lost. Zone-level rows."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

FLAG_COLUMNS = "f.id, f.user_id, f.kind, f.level, f.details, f.status, f.reviewed_by, f.created_at"


@dataclass(frozen=True, slots=True)
class Pace:
    """How one seat played one match: answers given, rounds timed out, mean answer time."""

    answered: int
    timeouts: int
    mean_ms: float | None
    forfeited: bool
    end_reason: str | None


@dataclass(frozen=True, slots=True)
class ResultRow:
    match_id: uuid.UUID
    outcome: str | None
    opponent: uuid.UUID | None
    pace: Pace


@dataclass(frozen=True, slots=True)
class FlagRow:
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    level: str
    details: dict[str, Any]
    status: str
    reviewed_by: uuid.UUID | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class LostChange:
    match_id: uuid.UUID
    user_id: uuid.UUID
    topic: str
    rating_before: float
    rating_after: float


_PACE = ("(SELECT count(*) FILTER (WHERE a.verdict <> 'timeout') AS answered,"
         " count(*) FILTER (WHERE a.verdict = 'timeout') AS timeouts,"
         " avg(a.elapsed_ms) FILTER (WHERE a.verdict <> 'timeout') AS mean_ms"
         " FROM arena.round_answers a WHERE a.match_id = mp.match_id AND a.seat = mp.seat) pace")


def _pace(r: Any) -> Pace:
    return Pace(int(r.answered), int(r.timeouts), float(r.mean_ms) if r.mean_ms is not None else None,
                bool(r.forfeited), r.end_reason)


async def pace(s: AsyncSession, match_id: uuid.UUID, seat: int) -> Pace:
    r = (await s.execute(text(
        f"SELECT pace.*, mp.forfeited, m.end_reason FROM arena.match_players mp JOIN arena.matches m"
        f" ON m.id = mp.match_id, LATERAL {_PACE} WHERE mp.match_id = :m AND mp.seat = :s"),
        {"m": match_id, "s": seat})).one()
    return _pace(r)


async def recent_rated_results(s: AsyncSession, zone_id: int, user_id: uuid.UUID, n: int) -> list[ResultRow]:
    """The player's last `n` rated finished matches, newest first."""
    rows = await s.execute(text(
        f"SELECT mp.match_id, mp.outcome, opp.user_id AS opponent, pace.*, mp.forfeited, m.end_reason"
        " FROM arena.match_players mp JOIN arena.matches m ON m.id = mp.match_id"
        " LEFT JOIN arena.match_players opp ON opp.match_id = mp.match_id AND opp.seat <> mp.seat,"
        f" LATERAL {_PACE} WHERE mp.zone_id = :z AND mp.user_id = :u AND m.status = 'finished' AND m.rated"
        " ORDER BY m.finished_at DESC LIMIT :n"), {"z": zone_id, "u": user_id, "n": n})
    return [ResultRow(r.match_id, r.outcome, r.opponent, _pace(r)) for r in rows]


async def overall_rd(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> float | None:
    r = (await s.execute(text("SELECT rd FROM arena.ratings WHERE zone_id = :z AND user_id = :u AND topic = ''"),
                         {"z": zone_id, "u": user_id})).first()
    return float(r.rd) if r else None


async def cheaters_among(s: AsyncSession, zone_id: int, user_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    rows = await s.execute(text("SELECT user_id FROM arena.players WHERE zone_id = :z AND user_id = ANY(:u)"
                                " AND cheater"), {"z": zone_id, "u": user_ids})
    return [r.user_id for r in rows]


async def open_flag_exists(s: AsyncSession, zone_id: int, user_id: uuid.UUID, kind: str, level: str,
                           opponent: uuid.UUID) -> bool:
    r = (await s.execute(text(
        "SELECT 1 FROM arena.fairplay_flags WHERE zone_id = :z AND user_id = :u AND kind = :k AND level = :l"
        " AND status = 'open' AND details->>'opponent' = :o LIMIT 1"),
        {"z": zone_id, "u": user_id, "k": kind, "l": level, "o": str(opponent)})).first()
    return r is not None


async def add_flag(s: AsyncSession, zone_id: int, user_id: uuid.UUID, kind: str, level: str,
                   details: dict[str, Any], *, status: str = "open", reviewed_by: uuid.UUID | None = None) -> uuid.UUID:
    r = (await s.execute(text(
        "INSERT INTO arena.fairplay_flags (zone_id, user_id, kind, level, details, status, reviewed_by)"
        " VALUES (:z, :u, :k, :l, CAST(:d AS jsonb), :st, :rb) RETURNING id"),
        {"z": zone_id, "u": user_id, "k": kind, "l": level, "d": json.dumps(details, default=str), "st": status,
         "rb": reviewed_by})).one()
    return uuid.UUID(str(r.id))


async def list_flags(s: AsyncSession, zone_id: int, *, org_id: uuid.UUID | None, status: str | None,
                     user_id: uuid.UUID | None, limit: int) -> list[FlagRow]:
    """Newest first; `org_id` limits to the flags of that org's players (an org admin's view)."""
    where: list[str] = ["f.zone_id = :z"]
    params: dict[str, Any] = {"z": zone_id, "limit": limit}
    if org_id is not None:
        where.append("p.org_id = :org")
        params["org"] = org_id
    if status is not None:
        where.append("f.status = :status")
        params["status"] = status
    if user_id is not None:
        where.append("f.user_id = :u")
        params["u"] = user_id
    rows = await s.execute(text(
        f"SELECT {FLAG_COLUMNS} FROM arena.fairplay_flags f JOIN arena.players p ON p.zone_id = f.zone_id"
        f" AND p.user_id = f.user_id WHERE {' AND '.join(where)} ORDER BY f.created_at DESC LIMIT :limit"), params)
    return [FlagRow(**r._mapping) for r in rows]


async def mark_cheater(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> bool:
    """True when the player was not marked before (a second mark refunds nothing twice)."""
    r = (await s.execute(text("UPDATE arena.players SET cheater = true WHERE zone_id = :z AND user_id = :u"
                              " AND NOT cheater RETURNING user_id"), {"z": zone_id, "u": user_id})).first()
    return r is not None


async def losses_to(s: AsyncSession, zone_id: int, cheater: uuid.UUID) -> list[LostChange]:
    """Every rated change in which an opponent of the cheater lost rating to it."""
    rows = await s.execute(text(
        "SELECT rc.match_id, rc.user_id, rc.topic, rc.rating_before, rc.rating_after FROM arena.rating_changes rc"
        " JOIN arena.match_players c ON c.match_id = rc.match_id AND c.user_id = :c"
        " WHERE rc.zone_id = :z AND rc.reason = 'match' AND rc.user_id <> :c AND rc.rating_after < rc.rating_before"
        " ORDER BY rc.user_id, rc.topic, rc.match_id"), {"z": zone_id, "c": cheater})
    return [LostChange(**r._mapping) for r in rows]


async def topics_of(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> list[str]:
    rows = await s.execute(text("SELECT topic FROM arena.ratings WHERE zone_id = :z AND user_id = :u"),
                           {"z": zone_id, "u": user_id})
    return [r.topic for r in rows]


async def review_flag(s: AsyncSession, zone_id: int, flag_id: uuid.UUID, status: str, by: uuid.UUID,
                      org_id: uuid.UUID | None) -> FlagRow | None:
    """Set a flag's review status; None when there is no such flag (of `org_id`'s players)."""
    r = (await s.execute(text(
        "UPDATE arena.fairplay_flags f SET status = :st, reviewed_by = :by FROM arena.players p"
        " WHERE f.id = :id AND f.zone_id = :z AND p.zone_id = f.zone_id AND p.user_id = f.user_id"
        f" AND (CAST(:org AS uuid) IS NULL OR p.org_id = :org) RETURNING {FLAG_COLUMNS}"),
        {"id": flag_id, "z": zone_id, "st": status, "by": by, "org": org_id})).first()
    return FlagRow(**r._mapping) if r else None
