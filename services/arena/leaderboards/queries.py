"""SQL behind the leaderboards: the truth a lost Redis set is rebuilt from, and the names shown."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.glicko2 import PERIODS_PER_DAY, SCALE

# The rule: a rating is on a leaderboard once it is established.
MAX_RD = 75.0
MIN_GAMES = 10
# RD grows while a player is inactive (Glicko-2 step 6 per rating period, Lichess's 0.21436
# periods a day): RD_now = sqrt(RD² + days × 0.21436 × (173.7178 σ)²). A player who stops playing
# leaves the boards when it passes MAX_RD, as Lichess's do.
_GROWTH = f"({PERIODS_PER_DAY} * power({SCALE} * r.volatility, 2))"
_DAYS = "greatest(0, extract(epoch FROM now() - coalesce(r.last_rated_at, now())) / 86400.0)"
RD_NOW = f"sqrt(power(r.rd, 2) + {_DAYS} * {_GROWTH})"


@dataclass(frozen=True, slots=True)
class NameRow:
    user_id: uuid.UUID
    nickname: str
    avatar: str
    tier_points: int


Batch = list[tuple[str, float | None]]


async def _stream(s: AsyncSession, query: str, params: dict[str, Any], batch: int) -> AsyncIterator[Batch]:
    """(member text, score) rows in batches through a server-side cursor of the session's own
    connection (same transaction, same tenant context). A bulk path: psycopg rows as plain tuples
    are ~3x faster than ORM rows, and a rebuild of a million-player board is paid by a waiting
    reader."""
    raw = (await (await s.connection()).get_raw_connection()).driver_connection
    assert raw is not None
    async with raw.cursor(name=f"arena_board_{uuid.uuid4().hex[:8]}") as cur:
        await cur.execute(query, params)
        while rows := await cur.fetchmany(batch):
            yield [(member, None if score is None else float(score)) for member, score in rows]


async def rating_rows(s: AsyncSession, zone_id: int, topic: str, *, changed_since: dt.datetime | None = None,
                      batch: int = 20_000) -> AsyncIterator[Batch]:
    """(user, rating) of the board's eligible players in batches; with `changed_since`, every
    player rated since then with None for those no longer eligible (the catch-up pass)."""
    eligible = f"{RD_NOW} <= {MAX_RD} AND r.games >= {MIN_GAMES} AND NOT p.cheater"
    params: dict[str, Any] = {"z": zone_id, "t": topic}
    if changed_since is None:
        where = eligible
    else:
        where, params["since"] = "r.last_rated_at >= %(since)s", changed_since
    async for part in _stream(s, (
            f"SELECT r.user_id::text, CASE WHEN {eligible} THEN r.rating END FROM arena.ratings r"
            " JOIN arena.players p ON p.zone_id = r.zone_id AND p.user_id = r.user_id"
            f" WHERE r.zone_id = %(z)s AND r.topic = %(t)s AND {where}"), params, batch):
        yield part


async def lapsed(s: AsyncSession, zone_id: int, within_days: float) -> list[tuple[str, uuid.UUID]]:
    """(topic, user) of ratings that were on a board when last played and whose RD, grown by
    inactivity, passed MAX_RD in the last `within_days` days: the upkeep takes them off."""
    crossed = (f"r.last_rated_at + make_interval(secs => 86400.0 * ({MAX_RD ** 2} - power(r.rd, 2)) / {_GROWTH})")
    rows = await s.execute(text(
        f"SELECT r.topic, r.user_id FROM arena.ratings r WHERE r.zone_id = :z AND r.rd <= {MAX_RD}"
        f" AND r.games >= {MIN_GAMES} AND r.last_rated_at IS NOT NULL AND {crossed} <= now()"
        f" AND {crossed} > now() - make_interval(days => :d)"), {"z": zone_id, "d": within_days})
    return [(r.topic, r.user_id) for r in rows]


async def weekly_rows(s: AsyncSession, zone_id: int, week_start: dt.date, batch: int = 20_000) -> AsyncIterator[Batch]:
    async for part in _stream(s, (
            "SELECT m.user_id::text, m.xp FROM arena.league_members m JOIN arena.players p ON p.zone_id = m.zone_id"
            " AND p.user_id = m.user_id WHERE m.zone_id = %(z)s AND m.week_start = %(w)s AND m.xp > 0"
            " AND NOT p.cheater"), {"z": zone_id, "w": week_start}, batch):
        yield part


async def names(s: AsyncSession, zone_id: int, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, NameRow]:
    rows = await s.execute(text("SELECT user_id, nickname, avatar, tier_points FROM arena.players"
                                " WHERE zone_id = :z AND user_id = ANY(:u)"), {"z": zone_id, "u": user_ids})
    return {r.user_id: NameRow(**r._mapping) for r in rows}


async def rating_of(s: AsyncSession, zone_id: int, user_id: uuid.UUID, topic: str) -> tuple[float, float, int] | None:
    r = (await s.execute(text("SELECT rating, rd, games FROM arena.ratings WHERE zone_id = :z AND user_id = :u"
                              " AND topic = :t"), {"z": zone_id, "u": user_id, "t": topic})).first()
    return (r.rating, r.rd, r.games) if r else None
