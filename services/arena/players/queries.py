"""SQL of arena players, their ratings and the tiers. Runs in a tenant transaction: players and
ratings are zone-level rows (RLS: `zone_id = app.zone_id`)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = ("zone_id, user_id, org_id, nickname, avatar, wins, losses, draws, xp, tier_points, cheater, created_at,"
           " last_played_at")
RATING_COLUMNS = "user_id, topic, rating, rd, volatility, games, last_rated_at"


@dataclass(frozen=True, slots=True)
class PlayerRow:
    zone_id: int
    user_id: uuid.UUID
    org_id: uuid.UUID | None
    nickname: str
    avatar: str
    wins: int
    losses: int
    draws: int
    xp: int
    tier_points: int
    cheater: bool
    created_at: dt.datetime
    last_played_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class RatingRow:
    user_id: uuid.UUID
    topic: str
    rating: float
    rd: float
    volatility: float
    games: int
    last_rated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TierRow:
    id: int
    name: str
    min_points: int
    max_points: int
    icon: str


def _player(r: Any) -> PlayerRow:
    return PlayerRow(**r._mapping)


async def get(s: AsyncSession, zone_id: int, user_id: uuid.UUID, *, lock: bool = False) -> PlayerRow | None:
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM arena.players WHERE zone_id = :z AND user_id = :u"
                              + (" FOR UPDATE" if lock else "")), {"z": zone_id, "u": user_id})).first()
    return _player(r) if r else None


async def lock(s: AsyncSession, zone_id: int, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Row-lock these players in user order (what every rating change of a player takes first);
    the marked cheaters among them."""
    rows = await s.execute(text("SELECT user_id, cheater FROM arena.players WHERE zone_id = :z AND user_id = ANY(:u)"
                                " ORDER BY user_id FOR UPDATE"), {"z": zone_id, "u": sorted(set(user_ids))})
    return {r.user_id for r in rows if r.cheater}


async def insert(s: AsyncSession, zone_id: int, user_id: uuid.UUID, org_id: uuid.UUID | None, nickname: str,
                 key: str) -> PlayerRow | None:
    """The new player, or None when the user already has one (another request made it first).
    A taken nickname raises IntegrityError (the caller runs this in a savepoint)."""
    r = (await s.execute(text(
        "INSERT INTO arena.players (zone_id, user_id, org_id, nickname, nickname_key) VALUES (:z, :u, :o, :n, :k)"
        f" ON CONFLICT (zone_id, user_id) DO NOTHING RETURNING {COLUMNS}"),
        {"z": zone_id, "u": user_id, "o": org_id, "n": nickname, "k": key})).first()
    return _player(r) if r else None


async def update_profile(s: AsyncSession, zone_id: int, user_id: uuid.UUID, values: dict[str, Any]) -> PlayerRow:
    unknown = set(values) - {"nickname", "nickname_key", "avatar", "org_id"}
    if not values or unknown:  # column names go into the SQL: only known ones
        raise ValueError(f"cannot update player columns {sorted(unknown) or 'none'}")
    sets = ", ".join(f"{k} = :{k}" for k in values)
    r = (await s.execute(text(f"UPDATE arena.players SET {sets} WHERE zone_id = :z AND user_id = :u"
                              f" RETURNING {COLUMNS}"), {**values, "z": zone_id, "u": user_id})).one()
    return _player(r)


async def ratings_of(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> list[RatingRow]:
    rows = await s.execute(text(f"SELECT {RATING_COLUMNS} FROM arena.ratings WHERE zone_id = :z AND user_id = :u"
                                " ORDER BY topic"), {"z": zone_id, "u": user_id})
    return [RatingRow(**r._mapping) for r in rows]


async def tiers(s: AsyncSession) -> list[TierRow]:
    rows = await s.execute(text("SELECT id, name, min_points, max_points, icon FROM arena.tiers ORDER BY min_points"))
    return [TierRow(**r._mapping) for r in rows]
