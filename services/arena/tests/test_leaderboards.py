"""Leaderboards (real PostgreSQL and Redis): ranks from Redis equal a SQL recomputation (ties
included), paging by cursor, my rank with neighbours, a rebuild from SQL after Redis lost the
set (a slow one answers 503 and still finishes), updates after a rated match, this week's XP
board, one board per zone, and board names that do not exist."""
from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text

from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from services.arena.leaderboards import sorted_sets
from services.arena.tests.conftest import OTHER_ZONE, ZONE, ArenaApp
from services.arena.tests.test_ratings import apply, finished_match, sql


async def seed_ratings(app: ArenaApp, n: int, topic: str = "") -> None:
    """`n` players with random established ratings (a few tied), and some not yet eligible."""
    rng = random.Random(7)
    for i in range(n):
        user = app.actor()
        await app.ok("GET", "/api/v1/arena/me", user)
        rating = 1500.0 if i % 5 == 0 else round(rng.uniform(900, 2400), 2)  # every fifth ties at 1500
        rd, games = (60.0, 12) if i % 7 else (120.0, 3)  # every seventh is still provisional
        await sql(app, "INSERT INTO arena.ratings (zone_id, user_id, topic, rating, rd, games, last_rated_at)"
                       " VALUES (:z, :u, :t, :r, :rd, :g, now())", z=ZONE, u=user.user_id, t=topic, r=rating, rd=rd,
                  g=games)


async def sql_order(app: ArenaApp, topic: str = "") -> list[str]:
    """The board recomputed in SQL: eligible ratings, best first, ties by user id descending."""
    rows = await sql(app, "SELECT r.user_id FROM arena.ratings r JOIN arena.players p USING (zone_id, user_id)"
                          " WHERE r.zone_id = :z AND r.topic = :t AND r.rd <= 75 AND r.games >= 10 AND NOT p.cheater"
                          " ORDER BY r.rating DESC, r.user_id::text DESC", z=ZONE, t=topic)
    return [str(r.user_id) for r in rows]


async def whole_board(app: ArenaApp, board: str, who: Any, limit: int = 7) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await app.ok("GET", f"/api/v1/arena/leaderboards/{board}", who,
                            params={"limit": limit, **({"cursor": cursor} if cursor else {})})
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_ranks_match_a_sql_recomputation_and_survive_a_lost_set(arena: ArenaApp) -> None:
    await seed_ratings(arena, 40)
    viewer = arena.actor()
    truth = await sql_order(arena)
    board = await whole_board(arena, "all-time", viewer)
    assert [x["user_id"] for x in board] == truth and [x["rank"] for x in board] == list(range(1, len(truth) + 1))
    assert all(x["nickname"] for x in board)
    for user in (truth[0], truth[len(truth) // 2], truth[-1]):
        who = arena.actor(user_id=uuid.UUID(user))
        mine = await arena.ok("GET", "/api/v1/arena/leaderboards/all-time/me", who, params={"k": 3})
        rank = truth.index(user) + 1
        assert mine["rank"] == rank and mine["size"] == len(truth)
        lo = max(0, rank - 1 - 3)
        assert [x["user_id"] for x in mine["items"]] == truth[lo:rank + 3]
    off = await arena.ok("GET", "/api/v1/arena/leaderboards/all-time/me", viewer)
    assert off["rank"] is None and off["items"] == []
    # Redis loses everything: the next read rebuilds from SQL, same ranks
    lost = await arena.res.redis.keys(arena.res.keys.zone(ZONE, "arena", "lb") + ":*")
    assert lost
    await arena.res.redis.delete(*lost)
    assert [x["user_id"] for x in await whole_board(arena, "all-time", viewer, limit=100)] == truth


async def test_category_board_and_bad_names(arena: ArenaApp) -> None:
    topic = str(uuid.uuid4())
    await seed_ratings(arena, 12, topic)
    viewer = arena.actor()
    assert [x["user_id"] for x in await whole_board(arena, f"category:{topic}", viewer)] == await sql_order(arena, topic)
    await seed_ratings(arena, 10)
    # a category called "all" is a board of its own: it neither reads nor rebuilds the all-time one
    assert (await arena.ok("GET", "/api/v1/arena/leaderboards/category:all", viewer))["items"] == []
    assert [x["user_id"] for x in await whole_board(arena, "all-time", viewer)] == await sql_order(arena, "")
    await arena.fails("GET", "/api/v1/arena/leaderboards/monthly", viewer, 404, "arena.board_not_found")
    await arena.fails("GET", "/api/v1/arena/leaderboards/category:a b", viewer, 404, "arena.board_not_found")
    page = await arena.ok("GET", "/api/v1/arena/leaderboards/all-time", viewer, params={"limit": 1})
    await arena.fails("GET", "/api/v1/arena/leaderboards/weekly", viewer, 400, "request.invalid_cursor",
                      params={"cursor": page["next_cursor"] or "x"})


async def test_a_rated_match_moves_the_boards(arena: ArenaApp) -> None:
    await seed_ratings(arena, 10)
    a, b = arena.actor(), arena.actor()
    for user in (a, b):
        await arena.ok("GET", "/api/v1/arena/me", user)
        await sql(arena, "INSERT INTO arena.ratings (zone_id, user_id, topic, rating, rd, games, last_rated_at)"
                         " VALUES (:z, :u, '', 1600, 50, 30, now())", z=ZONE, u=user.user_id)
    before = await arena.ok("GET", "/api/v1/arena/leaderboards/all-time/me", a)  # builds the set
    await apply(arena, await finished_match(arena, a, b))
    assert await sql_order(arena) == [x["user_id"] for x in await whole_board(arena, "all-time", a, limit=100)]
    after = await arena.ok("GET", "/api/v1/arena/leaderboards/all-time/me", a)
    assert after["score"] > before["score"] and after["rank"] <= before["rank"]
    weekly = await arena.ok("GET", "/api/v1/arena/leaderboards/weekly/me", a)
    assert (weekly["rank"], weekly["score"], weekly["size"]) == (1, 50.0, 1)  # b earned no XP this week


async def test_boards_are_per_zone(arena: ArenaApp) -> None:
    here, there = arena.actor(), arena.actor(zone_id=OTHER_ZONE)
    for who in (here, there):
        await arena.ok("GET", "/api/v1/arena/me", who)
        async with tenant_transaction(arena.res.db(), TenantContext(who.zone_id, role="zone_admin")) as s:
            await s.execute(text("INSERT INTO arena.ratings (zone_id, user_id, topic, rating, rd, games, last_rated_at)"
                                 " VALUES (:z, :u, '', 1800, 50, 20, now())"), {"z": who.zone_id, "u": who.user_id})
    for who in (here, there):
        board = await whole_board(arena, "all-time", who)
        assert [x["user_id"] for x in board] == [str(who.user_id)]


async def test_a_slow_rebuild_answers_503_and_finishes_anyway(arena: ArenaApp) -> None:
    redis, key = arena.res.redis, arena.res.keys.zone(ZONE, "arena", "lb", "test", uuid.uuid4().hex)
    runs = []

    async def slow_rebuild() -> None:
        runs.append(1)
        await asyncio.sleep(0.5)
        await sorted_sets.merge_max(redis, key, rows)

    async def rows() -> AsyncIterator[list[tuple[sorted_sets.Member, float | None]]]:
        yield [(uuid.uuid4(), 1.0)]

    waiting = [sorted_sets.ensure_built(redis, key, slow_rebuild, wait=0.1) for _ in range(3)]
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(o, AppError) and o.code == "arena.leaderboard_rebuilding" for o in outcomes)
    await asyncio.sleep(0.8)  # the rebuild was not cancelled with its reader
    await sorted_sets.ensure_built(redis, key, slow_rebuild, wait=0.1)
    assert runs == [1] and await redis.zcard(key) == 1
    await redis.delete(key, sorted_sets.marker(key))
