"""Weekly XP leagues (real PostgreSQL): placement in groups of ~30 on a week's first XP, the
standings and zones over HTTP, and the weekly reset — top 7 up and bottom 5 down in a full group,
none down from the lowest league, idempotent — feeding next week's placement."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from megacity.db import TenantContext, tenant_transaction
from services.arena.leagues import service, weeks
from services.arena.players.service import ensure_player
from services.arena.tests.conftest import ZONE, ArenaApp
from services.arena.tests.test_ratings import apply, finished_match, sql


async def credit(app: ArenaApp, user: uuid.UUID, xp: int, at: dt.datetime | None = None) -> None:
    async with tenant_transaction(app.res.db(), TenantContext(ZONE, role="zone_admin")) as s:
        await ensure_player(s, ZONE, user, app.org_a)
        await service.add_xp(s, ZONE, user, xp, app.state.settings, at)


async def test_players_fill_groups_of_thirty(arena: ArenaApp) -> None:
    users = [uuid.uuid4() for _ in range(65)]
    await asyncio.gather(*(credit(arena, u, 10 + i) for i, u in enumerate(users)))
    sizes = await sql(arena, "SELECT group_no, count(*) AS n FROM arena.league_members WHERE league = 0"
                             " GROUP BY 1 ORDER BY 1")
    assert sorted(r.n for r in sizes) == [5, 30, 30]


async def test_my_league_after_a_match(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor()
    before = await arena.ok("GET", "/api/v1/arena/leagues/me", a)
    assert (before["placed"], before["league_name"], before["members"]) == (False, "Bronze", [])
    await apply(arena, await finished_match(arena, a, b, mode="casual", rated=False))
    mine = await arena.ok("GET", "/api/v1/arena/leagues/me", a)
    assert mine["placed"] and mine["xp"] == 50 and mine["rank"] == 1
    assert [m["user_id"] for m in mine["members"]] == [str(a.user_id)]  # b earned nothing: not placed
    assert mine["week_start"] == weeks.current_week_start().isoformat()
    # the group's Redis set is lost: rebuilt from SQL on the next read
    await arena.res.redis.delete(*await arena.res.redis.keys(arena.res.keys.zone(ZONE, "arena", "league") + ":*"))
    assert (await arena.ok("GET", "/api/v1/arena/leagues/me", a))["members"] == mine["members"]
    c = arena.actor()
    await apply(arena, await finished_match(arena, c, a, mode="casual", rated=False))  # c 50 XP, a 0 more
    standing = (await arena.ok("GET", "/api/v1/arena/leagues/me", c))["members"]
    assert [(m["user_id"], m["xp"]) for m in standing] == sorted(
        [(str(a.user_id), 50), (str(c.user_id), 50)], key=lambda m: m[0], reverse=True)  # ties: user id, descending


async def test_weekly_reset_promotes_and_demotes_once(arena: ArenaApp) -> None:
    last_week = weeks.current_week_start() - dt.timedelta(days=7)
    users = [uuid.uuid4() for _ in range(30)]
    for i, u in enumerate(users):  # a full Silver group (league 1); xp 300, 290, ... 10
        async with tenant_transaction(arena.res.db(), TenantContext(ZONE, role="zone_admin")) as s:
            await ensure_player(s, ZONE, u, arena.org_a)
        await sql(arena, "INSERT INTO arena.league_members (zone_id, week_start, user_id, league, group_no, xp)"
                         " VALUES (:z, :w, :u, 1, 1, :x)", z=ZONE, w=last_week, u=u, x=300 - 10 * i)
    bronze = uuid.uuid4()
    await credit(arena, bronze, 5, dt.datetime.combine(last_week, dt.time(12), dt.UTC))  # alone in Bronze
    closed = await service.close_finished_weeks(arena.res, ZONE)  # what the upkeep calls
    done = closed[last_week]
    assert list(closed) == [last_week] and done is not None
    assert (done.settled, done.promoted, done.demoted) == (31, 7, 5)
    again = await service.weekly_reset(arena.res, ZONE, last_week)
    assert again is not None and again.settled == 0
    assert await service.close_finished_weeks(arena.res, ZONE) == {}  # nothing left to close
    outcome = {r.user_id: r.outcome for r in await sql(
        arena, "SELECT user_id, outcome FROM arena.league_members WHERE week_start = :w", w=last_week)}
    assert [outcome[u] for u in users] == ["promoted"] * 7 + ["stayed"] * 18 + ["demoted"] * 5
    assert outcome[bronze] == "stayed"  # a group of one moves nobody, and Bronze demotes no one
    for u, league in ((users[0], 2), (users[10], 1), (users[-1], 0)):
        await credit(arena, u, 1)
        row = await sql(arena, "SELECT league FROM arena.league_members WHERE user_id = :u AND week_start = :w",
                        u=u, w=weeks.current_week_start())
        assert row[0].league == league
