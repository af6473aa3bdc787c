"""SQL of applying a finished match: the exactly-once claim on the match, its seats and answers,
ratings (locked in user order, after the players' rows: see service.apply_match_result), rating changes,
player statistics and question ratings. Zone-level rows (RLS: the zone of the transaction)."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.glicko2 import Rating

MATCH_COLUMNS = ("id, zone_id, mode, topic, opponent_kind, rated, unrated_reason, winner_user_id, end_reason,"
                 " round_count, round_seconds, created_at, finished_at")


@dataclass(frozen=True, slots=True)
class MatchRow:
    id: uuid.UUID
    zone_id: int
    mode: str
    topic: str
    opponent_kind: str
    rated: bool
    unrated_reason: str | None
    winner_user_id: uuid.UUID | None
    end_reason: str | None
    round_count: int
    round_seconds: int
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SeatRow:
    seat: int
    kind: str
    user_id: uuid.UUID | None
    org_id: uuid.UUID | None
    rating_before: float | None
    score: int
    correct: int
    outcome: str | None
    forfeited: bool
    client_address: str | None


@dataclass(frozen=True, slots=True)
class AnswerRow:
    round_no: int
    seat: int
    user_id: uuid.UUID | None
    question_id: uuid.UUID
    elapsed_ms: int
    verdict: str
    score: float


@dataclass(frozen=True, slots=True)
class StoredRating:
    user_id: uuid.UUID
    topic: str
    rating: Rating
    games: int
    last_rated_at: dt.datetime | None


async def claim(s: AsyncSession, match_id: uuid.UUID) -> MatchRow | None:
    """The finished match, stamped `ratings_applied_at` — or None when it is not finished or was
    applied before (the row lock makes a concurrent second delivery wait, then find it stamped)."""
    r = (await s.execute(text(
        "UPDATE arena.matches SET ratings_applied_at = now() WHERE id = :id AND status = 'finished'"
        f" AND ratings_applied_at IS NULL RETURNING {MATCH_COLUMNS}"), {"id": match_id})).first()
    return MatchRow(**r._mapping) if r else None


async def get_match(s: AsyncSession, match_id: uuid.UUID) -> MatchRow | None:
    r = (await s.execute(text(f"SELECT {MATCH_COLUMNS} FROM arena.matches WHERE id = :id"), {"id": match_id})).first()
    return MatchRow(**r._mapping) if r else None


async def mark_unrated(s: AsyncSession, match_id: uuid.UUID, reason: str) -> None:
    await s.execute(text("UPDATE arena.matches SET rated = false, unrated_reason = :r WHERE id = :id"),
                    {"id": match_id, "r": reason})


async def seats(s: AsyncSession, match_id: uuid.UUID) -> list[SeatRow]:
    rows = await s.execute(text(
        "SELECT seat, kind, user_id, org_id, rating_before, score, correct, outcome, forfeited, client_address"
        " FROM arena.match_players WHERE match_id = :id ORDER BY seat"), {"id": match_id})
    return [SeatRow(**r._mapping) for r in rows]


async def answers(s: AsyncSession, match_id: uuid.UUID) -> list[AnswerRow]:
    rows = await s.execute(text(
        "SELECT round_no, seat, user_id, question_id, elapsed_ms, verdict, score FROM arena.round_answers"
        " WHERE match_id = :id ORDER BY round_no, seat"), {"id": match_id})
    return [AnswerRow(**r._mapping) for r in rows]


async def ratings_for_update(s: AsyncSession, zone_id: int, user_ids: Iterable[uuid.UUID],
                             topics: Iterable[str]) -> dict[tuple[uuid.UUID, str], StoredRating]:
    """The stored ratings of these players and topics, row-locked in (user, topic) order."""
    rows = await s.execute(text(
        "SELECT user_id, topic, rating, rd, volatility, games, last_rated_at FROM arena.ratings"
        " WHERE zone_id = :z AND user_id = ANY(:u) AND topic = ANY(:t) ORDER BY user_id, topic FOR NO KEY UPDATE"),
        {"z": zone_id, "u": sorted(set(user_ids)), "t": sorted(set(topics))})
    return {(r.user_id, r.topic): StoredRating(r.user_id, r.topic, Rating(r.rating, r.rd, r.volatility), r.games,
                                               r.last_rated_at) for r in rows}


async def save_rating(s: AsyncSession, zone_id: int, user_id: uuid.UUID, topic: str, rating: Rating,
                      games: int, at: dt.datetime) -> None:
    await s.execute(text(
        "INSERT INTO arena.ratings (zone_id, user_id, topic, rating, rd, volatility, games, last_rated_at)"
        " VALUES (:z, :u, :t, :r, :rd, :v, :g, :at) ON CONFLICT (zone_id, user_id, topic) DO UPDATE SET"
        " rating = excluded.rating, rd = excluded.rd, volatility = excluded.volatility, games = excluded.games,"
        " last_rated_at = excluded.last_rated_at"),
        {"z": zone_id, "u": user_id, "t": topic, "r": rating.rating, "rd": rating.rd, "v": rating.volatility,
         "g": games, "at": at})


async def add_change(s: AsyncSession, zone_id: int, match_id: uuid.UUID, user_id: uuid.UUID, topic: str,
                     reason: str, before: Rating, after: Rating) -> bool:
    """Record one change; False when this (match, player, topic, reason) was recorded before."""
    r = (await s.execute(text(
        "INSERT INTO arena.rating_changes (zone_id, match_id, user_id, topic, reason, rating_before, rating_after,"
        " rd_before, rd_after, volatility_before, volatility_after) VALUES (:z, :m, :u, :t, :reason, :rb, :ra,"
        " :db, :da, :vb, :va) ON CONFLICT (match_id, user_id, topic, reason) DO NOTHING RETURNING id"),
        {"z": zone_id, "m": match_id, "u": user_id, "t": topic, "reason": reason, "rb": before.rating,
         "ra": after.rating, "db": before.rd, "da": after.rd, "vb": before.volatility,
         "va": after.volatility})).first()
    return r is not None


async def add_stats(s: AsyncSession, zone_id: int, user_id: uuid.UUID, *, outcome: str | None, xp: int,
                    tier_points: int | None, at: dt.datetime | None) -> None:
    """W/L/D (when `outcome`), experience, tier points (when rated) and the last game's time."""
    await s.execute(text(
        "UPDATE arena.players SET wins = wins + (:o = 'win')::int, losses = losses + (:o = 'loss')::int,"
        " draws = draws + (:o = 'draw')::int, xp = xp + :xp, tier_points = coalesce(:tp, tier_points),"
        " last_played_at = greatest(last_played_at, :at) WHERE zone_id = :z AND user_id = :u"),
        {"z": zone_id, "u": user_id, "o": outcome or "", "xp": xp, "tp": tier_points, "at": at})


async def set_tier_points(s: AsyncSession, zone_id: int, user_id: uuid.UUID, tier_points: int) -> None:
    await s.execute(text("UPDATE arena.players SET tier_points = :tp WHERE zone_id = :z AND user_id = :u"),
                    {"z": zone_id, "u": user_id, "tp": tier_points})


async def questions_for_update(s: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[Rating, int]]:
    rows = await s.execute(text("SELECT id, rating, rd, volatility, plays FROM arena.questions WHERE id = ANY(:ids)"
                                " ORDER BY id FOR NO KEY UPDATE"), {"ids": sorted(set(ids))})
    return {r.id: (Rating(r.rating, r.rd, r.volatility), r.plays) for r in rows}


async def save_question(s: AsyncSession, question_id: uuid.UUID, rating: Rating, plays: int) -> None:
    await s.execute(text("UPDATE arena.questions SET rating = :r, rd = :rd, volatility = :v, plays = :p"
                         " WHERE id = :id"),
                    {"id": question_id, "r": rating.rating, "rd": rating.rd, "v": rating.volatility, "p": plays})


async def changes_of_match(s: AsyncSession, match_id: uuid.UUID, reason: str = "match") -> list[Any]:
    rows = await s.execute(text(
        "SELECT user_id, topic, rating_before, rating_after, rd_before, rd_after, volatility_before,"
        " volatility_after FROM arena.rating_changes WHERE match_id = :m AND reason = :r ORDER BY user_id, topic"),
        {"m": match_id, "r": reason})
    return list(rows)
