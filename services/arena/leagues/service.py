"""Weekly XP leagues as Duolingo runs them: a player who earns XP in a week is placed in a group
of about 30 in its league; at the week's end the top of each group moves up a league and the
bottom down (none up from the highest, none down from the lowest, nobody up on 0 XP). Separate
from skill: XP rewards playing, ratings measure strength.

SQL (`league_members`) is the truth and decides the week's outcomes; each group's standings are
a Redis sorted set (`ZADD GT` of the committed XP after each match, rebuilt from SQL when Redis
lost it; leaderboards/sorted_sets.py), ordered like the reset orders them (XP, then user id)."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.runtime import Resources
from services.arena.leaderboards import sorted_sets
from services.arena.leagues import queries, weeks
from services.arena.leagues.queries import MemberRow
from services.arena.settings import ArenaSettings

GROUP_TTL = 15 * 86_400  # a closed week's groups stay readable a week after it
LEAGUES = ("Bronze", "Silver", "Gold", "Sapphire", "Ruby", "Emerald", "Amethyst", "Pearl", "Obsidian", "Diamond")
TOP = len(LEAGUES) - 1


@dataclass(frozen=True, slots=True)
class Zones:
    promote: int
    demote: int


@dataclass(frozen=True, slots=True)
class Standing:
    user_id: uuid.UUID
    xp: int
    nickname: str
    avatar: str


@dataclass(frozen=True, slots=True)
class MyLeague:
    week_start: dt.date
    league: int
    member: MemberRow | None  # None until the player earns XP this week
    standings: list[Standing]
    zones: Zones


@dataclass(frozen=True, slots=True)
class Reset:
    settled: int
    promoted: int
    demoted: int


def zones_for(size: int, league: int, settings: ArenaSettings) -> Zones:
    """How many move up and down in a group of `size`: the settings' 7/5 in a full group of 30,
    fewer in a small one (a third up, a quarter down at most)."""
    promote = 0 if league >= TOP else min(settings.league_promote, size // 3)
    demote = 0 if league <= 0 else min(settings.league_demote, size // 4)
    return Zones(promote, demote)


def next_league(last: MemberRow | None) -> int:
    if last is None:
        return 0
    step = {"promoted": 1, "demoted": -1}.get(last.outcome or "", 0)
    return max(0, min(TOP, last.league + step))


async def add_xp(session: AsyncSession, zone_id: int, user_id: uuid.UUID, xp: int, settings: ArenaSettings,
                 at: dt.datetime | None = None) -> MemberRow:
    """Credit XP to the player's group of the week (placing it on its first XP of the week), in
    the caller's transaction."""
    week = weeks.current_week_start(at)
    row = await queries.member(session, zone_id, week, user_id)
    if row is None:
        league = next_league(await queries.last_member_before(session, zone_id, user_id, week))
        await queries.lock_placements(session, zone_id, week)
        group = await queries.open_group(session, zone_id, week, league, settings.league_group_size)
        row = await queries.insert(session, zone_id, week, user_id, league, group)
    return await queries.add_xp(session, zone_id, week, user_id, xp) if xp else row


def outcomes(members: list[MemberRow], settings: ArenaSettings) -> list[tuple[uuid.UUID, str]]:
    """Each member's outcome; `members` ordered by group, then standing (best first)."""
    out: list[tuple[uuid.UUID, str]] = []
    for (league, _), group in groupby(members, key=lambda m: (m.league, m.group_no)):
        ranked = list(group)
        z = zones_for(len(ranked), league, settings)
        for i, m in enumerate(ranked):
            if i < z.promote and m.xp > 0:
                out.append((m.user_id, "promoted"))
            elif i >= len(ranked) - z.demote:
                out.append((m.user_id, "demoted"))
            else:
                out.append((m.user_id, "stayed"))
    return out


async def weekly_reset(res: Resources, zone_id: int, week_start: dt.date) -> Reset | None:
    """Close the week that began `week_start`: promotions and demotions of every group. Idempotent
    (only members without an outcome are settled) and one replica at a time (advisory lock);
    None when another replica holds the lock."""
    settings: ArenaSettings = res.settings  # type: ignore[assignment]
    async with tenant_transaction(res.db(), TenantContext(zone_id, role="zone_admin")) as s:
        if not await queries.try_lock_reset(s, zone_id):
            return None
        decided = outcomes(await queries.unsettled(s, zone_id, week_start), settings)
        if decided:
            await queries.set_outcomes(s, zone_id, week_start, decided)
    return Reset(len(decided), sum(o == "promoted" for _, o in decided), sum(o == "demoted" for _, o in decided))


async def close_finished_weeks(res: Resources, zone_id: int, today: dt.date | None = None
                               ) -> dict[dt.date, Reset | None]:
    """The upkeep's call: every week before the current one that still has members without an
    outcome is closed, oldest first (a worker that was down for weeks catches up)."""
    current = weeks.week_start_of(today or dt.datetime.now(dt.UTC).date())
    async with tenant_transaction(res.db(), TenantContext(zone_id, role="zone_admin")) as s:
        pending = await queries.unsettled_weeks(s, zone_id, current)
    return {week: await weekly_reset(res, zone_id, week) for week in pending}


def group_key(res: Resources, zone_id: int, member: MemberRow) -> str:
    return res.keys.zone(zone_id, "arena", "league", member.week_start.isoformat(), member.league, member.group_no)


async def record_xp(res: Resources, zone_id: int, member: MemberRow) -> None:
    """After the commit: the member's XP (as committed; it only grows) in its group's set."""
    await sorted_sets.put(res.redis, group_key(res, zone_id, member), member.user_id, float(member.xp), gt=True,
                          ttl=GROUP_TTL)


async def _standings(res: Resources, principal: Principal, member: MemberRow) -> list[Standing]:
    key, zone_id = group_key(res, principal.zone_id, member), principal.zone_id

    async def rebuild() -> None:
        async with tenant_transaction(res.db(), principal.tenant()) as s:
            rows = await queries.group_xp(s, zone_id, member.week_start, member.league, member.group_no)

        async def batches() -> AsyncIterator[Sequence[tuple[sorted_sets.Member, float | None]]]:
            yield rows

        await sorted_sets.merge_max(res.redis, key, batches, GROUP_TTL)

    await sorted_sets.ensure_built(res.redis, key, rebuild)
    settings: ArenaSettings = res.settings  # type: ignore[assignment]
    entries, _ = await sorted_sets.top(res.redis, key, 0, 4 * settings.league_group_size)  # a group is ~30
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        found = await queries.names(s, zone_id, [e.user_id for e in entries])
    return [Standing(e.user_id, int(e.score), *found.get(e.user_id, ("?", "default"))) for e in entries]


async def my_league(res: Resources, principal: Principal) -> MyLeague:
    settings: ArenaSettings = res.settings  # type: ignore[assignment]
    week = weeks.current_week_start()
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        row = await queries.member(s, principal.zone_id, week, principal.user_id)
        last = None if row else await queries.last_member_before(s, principal.zone_id, principal.user_id, week)
    if row is None:
        league = next_league(last)
        return MyLeague(week, league, None, [], zones_for(0, league, settings))
    standings = await _standings(res, principal, row)
    return MyLeague(week, row.league, row, standings, zones_for(len(standings), row.league, settings))
