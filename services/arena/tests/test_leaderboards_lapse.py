"""A rating leaves the boards when inactivity grows its RD past 75 (Glicko-2's RD growth, 0.21436
rating periods a day as Lichess counts them): a rebuild leaves it out, and the upkeep's pass
takes it off a board that still holds it — the clock is moved in the database."""
from __future__ import annotations

from services.arena.leaderboards import service as boards
from services.arena.tests.conftest import ZONE, ArenaApp
from services.arena.tests.test_ratings import sql


async def _player(app: ArenaApp, rd: float, days_ago: float) -> str:
    user = app.actor()
    await app.ok("GET", "/api/v1/arena/me", user)
    await sql(app, "INSERT INTO arena.ratings (zone_id, user_id, topic, rating, rd, volatility, games, last_rated_at)"
                   " VALUES (:z, :u, '', 1800, :rd, 0.06, 20, now() - make_interval(secs => :s))",
              z=ZONE, u=user.user_id, rd=rd, s=days_ago * 86400)
    return str(user.user_id)


async def test_an_inactive_rating_lapses_off_the_boards(arena: ArenaApp) -> None:
    # RD 70, σ 0.06: RD passes 75 after (75² − 70²) / (0.21436 × (173.7178 × 0.06)²) ≈ 33.4 days.
    active = await _player(arena, 70.0, 30)
    lapsed = await _player(arena, 70.0, 36)
    long_gone = await _player(arena, 50.0, 400)
    viewer = arena.actor()
    board = await arena.ok("GET", "/api/v1/arena/leaderboards/all-time", viewer)
    assert [x["user_id"] for x in board["items"]] == [active]

    # A board built while both were eligible: the upkeep's pass removes the one that lapsed in
    # the last days, and leaves the rest (the long-gone one lapsed long before this window).
    key = boards.board_key(arena.res, ZONE, boards.parse_board("all-time"))
    await arena.res.redis.zadd(key, {lapsed: 1800.0, long_gone: 1800.0})
    assert await boards.drop_lapsed(arena.res, ZONE, within_days=8) == 1
    assert await arena.res.redis.zscore(key, lapsed) is None
    assert await arena.res.redis.zscore(key, active) == 1800.0
