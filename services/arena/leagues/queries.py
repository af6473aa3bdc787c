"""SQL of weekly leagues: a player's seat in a week's group, XP, the groups, and the week's
outcomes. Zone-level rows (RLS: the zone of the transaction)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = "week_start, user_id, league, group_no, xp, outcome"


@dataclass(frozen=True, slots=True)
class MemberRow:
    week_start: dt.date
    user_id: uuid.UUID
    league: int
    group_no: int
    xp: int
    outcome: str | None


async def member(s: AsyncSession, zone_id: int, week_start: dt.date, user_id: uuid.UUID) -> MemberRow | None:
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM arena.league_members WHERE zone_id = :z AND week_start = :w"
                              " AND user_id = :u"), {"z": zone_id, "w": week_start, "u": user_id})).first()
    return MemberRow(**r._mapping) if r else None


async def last_member_before(s: AsyncSession, zone_id: int, user_id: uuid.UUID, week_start: dt.date
                             ) -> MemberRow | None:
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM arena.league_members WHERE zone_id = :z AND user_id = :u"
                              " AND week_start < :w ORDER BY week_start DESC LIMIT 1"),
                         {"z": zone_id, "u": user_id, "w": week_start})).first()
    return MemberRow(**r._mapping) if r else None


async def lock_placements(s: AsyncSession, zone_id: int, week_start: dt.date) -> None:
    """Serialise a zone's placements of one week (so a group never overfills). One lock for every
    league: a match places two players, and two leagues' locks taken in either order by two
    matches could deadlock. Placements are once per player and week, so it is rarely contended."""
    await s.execute(text("SELECT pg_advisory_xact_lock(hashtext('arena.league'), hashtext(:k))"),
                    {"k": f"{zone_id}:{week_start.isoformat()}"})


async def open_group(s: AsyncSession, zone_id: int, week_start: dt.date, league: int, size: int) -> int:
    """The first group of the league with room, else a new group number."""
    r = (await s.execute(text(
        "SELECT group_no, count(*) AS n FROM arena.league_members WHERE zone_id = :z AND week_start = :w"
        " AND league = :l GROUP BY group_no ORDER BY group_no"), {"z": zone_id, "w": week_start, "l": league})).all()
    for row in r:
        if row.n < size:
            return int(row.group_no)
    return max((int(row.group_no) for row in r), default=0) + 1


async def insert(s: AsyncSession, zone_id: int, week_start: dt.date, user_id: uuid.UUID, league: int,
                 group_no: int) -> MemberRow:
    r = (await s.execute(text(
        "INSERT INTO arena.league_members (zone_id, week_start, user_id, league, group_no) VALUES (:z, :w, :u, :l, :g)"
        f" ON CONFLICT (zone_id, week_start, user_id) DO NOTHING RETURNING {COLUMNS}"),
        {"z": zone_id, "w": week_start, "u": user_id, "l": league, "g": group_no})).first()
    if r is None:  # placed by a concurrent transaction of the same player
        found = await member(s, zone_id, week_start, user_id)
        assert found is not None
        return found
    return MemberRow(**r._mapping)


async def add_xp(s: AsyncSession, zone_id: int, week_start: dt.date, user_id: uuid.UUID, xp: int) -> MemberRow:
    r = (await s.execute(text(
        f"UPDATE arena.league_members SET xp = xp + :x WHERE zone_id = :z AND week_start = :w AND user_id = :u"
        f" RETURNING {COLUMNS}"), {"z": zone_id, "w": week_start, "u": user_id, "x": xp})).one()
    return MemberRow(**r._mapping)


async def group_xp(s: AsyncSession, zone_id: int, week_start: dt.date, league: int, group_no: int
                   ) -> list[tuple[uuid.UUID, float | None]]:
    """(member, XP) of one group: what its Redis set is rebuilt from."""
    rows = await s.execute(text(
        "SELECT user_id, xp FROM arena.league_members WHERE zone_id = :z AND week_start = :w AND league = :l"
        " AND group_no = :g"), {"z": zone_id, "w": week_start, "l": league, "g": group_no})
    return [(r.user_id, float(r.xp)) for r in rows]


async def names(s: AsyncSession, zone_id: int, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = await s.execute(text("SELECT user_id, nickname, avatar FROM arena.players WHERE zone_id = :z"
                                " AND user_id = ANY(:u)"), {"z": zone_id, "u": user_ids})
    return {r.user_id: (r.nickname, r.avatar) for r in rows}


async def try_lock_reset(s: AsyncSession, zone_id: int) -> bool:
    """One replica closes a zone's week at a time (transaction-scoped advisory lock)."""
    r = (await s.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('arena.league_reset'), :z)"),
                         {"z": zone_id})).scalar_one()
    return bool(r)


async def unsettled(s: AsyncSession, zone_id: int, week_start: dt.date) -> list[MemberRow]:
    """The week's members without an outcome yet, by group and standing (XP, then user id)."""
    rows = await s.execute(text(
        f"SELECT {COLUMNS} FROM arena.league_members WHERE zone_id = :z AND week_start = :w AND outcome IS NULL"
        " ORDER BY league, group_no, xp DESC, user_id::text DESC"), {"z": zone_id, "w": week_start})
    return [MemberRow(**r._mapping) for r in rows]


async def unsettled_weeks(s: AsyncSession, zone_id: int, before: dt.date) -> list[dt.date]:
    rows = await s.execute(text("SELECT DISTINCT week_start FROM arena.league_members WHERE zone_id = :z"
                                " AND week_start < :b AND outcome IS NULL ORDER BY week_start"),
                           {"z": zone_id, "b": before})
    return [r.week_start for r in rows]


async def set_outcomes(s: AsyncSession, zone_id: int, week_start: dt.date,
                       outcomes: list[tuple[uuid.UUID, str]]) -> None:
    await s.execute(text(
        "UPDATE arena.league_members m SET outcome = o.outcome FROM unnest(CAST(:u AS uuid[]), CAST(:o AS text[]))"
        " AS o(user_id, outcome) WHERE m.zone_id = :z AND m.week_start = :w AND m.user_id = o.user_id"
        " AND m.outcome IS NULL"),
        {"z": zone_id, "w": week_start, "u": [u for u, _ in outcomes], "o": [o for _, o in outcomes]})
