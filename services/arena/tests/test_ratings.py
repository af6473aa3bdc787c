"""Ratings from finished matches (real PostgreSQL, Redis, NATS): applied exactly once however
often `arena.match.finished` arrives (the handler run twice with one message id — the case the
consumer's inbox exists for, here past it — and with other ids, at once; two events through the
outbox, relay and the service's real consumer), Glicko-2 per topic with statistics, XP, tier points and question ratings,
unrated matches, and `rating_change` frames to both players after the commit.

`finished_match` writes a finished match the way the engine leaves one (the engine's own tests
play matches over WebSockets); other P tests import it."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from megacity import glicko2
from megacity.db import TenantContext, after_commit, system_transaction, tenant_transaction
from megacity.events.envelope import Event
from megacity.events.outbox import add_event
from services.arena.matches import rounds
from services.arena.matches import service as matches
from services.arena.ratings import consumer
from services.arena.tests.conftest import ZONE, Actor, ArenaApp

Answer = tuple[int, str, int]  # seat, verdict, elapsed ms


async def sql(app: ArenaApp, query: str, **params: Any) -> list[Any]:
    async with tenant_transaction(app.res.db(), TenantContext(ZONE, role="zone_admin")) as s:
        result = await s.execute(text(query), params)
        return list(result.all()) if result.returns_rows else []  # type: ignore[attr-defined]


async def finished_match(app: ArenaApp, a: Actor, b: Actor, *, outcome: str = "win", mode: str = "ranked",
                         rated: bool = True, topic: str = "", answers: Sequence[Answer] | None = None,
                         addresses: tuple[str | None, str | None] = (None, None), forfeited: bool = False,
                         finished_at: dt.datetime | None = None) -> uuid.UUID:
    """A finished match of a (seat 0, `outcome`) against b; `answers` default: a right in all 3
    rounds at 5 s, b wrong at 6 s (each round a new zone-shared question; 15 points a right answer)."""
    answers = answers if answers is not None else [(s, v, ms) for _ in range(3)
                                                   for s, v, ms in ((0, "correct", 5000), (1, "wrong", 6000))]
    other = {"win": "loss", "loss": "win", "draw": "draw"}[outcome]
    winner = a.user_id if outcome == "win" else b.user_id if outcome == "loss" else None
    at = finished_at or dt.datetime.now(dt.UTC)
    rounds = max((1 + i // 2 for i in range(len(answers))), default=1)
    m = (await sql(app, "INSERT INTO arena.matches (zone_id, mode, topic, status, round_count, round_seconds, rated,"
                        " winner_user_id, end_reason, created_at, finished_at) VALUES (:z, :mode, :t, 'finished', :n,"
                        " 20, :r, :w, :why, :at - interval '2 minutes', :at) RETURNING id",
                   z=ZONE, mode=mode, t=topic, n=rounds, r=rated, w=winner,
                   why="forfeit" if forfeited else "completed", at=at))[0].id
    correct = {0: sum(1 for s, v, _ in answers if s == 0 and v == "correct"),
               1: sum(1 for s, v, _ in answers if s == 1 and v == "correct")}
    for seat, who, out in ((0, a, outcome), (1, b, other)):
        await sql(app, "INSERT INTO arena.match_players (zone_id, match_id, seat, user_id, org_id, outcome, correct,"
                       " score, active, forfeited, client_address) VALUES (:z, :m, :s, :u, :o, :out, :c, :c * 15,"
                       " false, :f, :addr)", z=ZONE, m=m, s=seat, u=who.user_id, o=who.org_id, out=out,
                  c=correct[seat], f=forfeited and out == "loss", addr=addresses[seat])
    for n in range(1, rounds + 1):
        q = (await sql(app, "INSERT INTO arena.questions (zone_id, type, content, answer) VALUES (:z, 'short',"
                            " :c, '4') RETURNING id", z=ZONE, c=f"2 + 2 = ? ({uuid.uuid4().hex[:6]})"))[0].id
        await sql(app, "INSERT INTO arena.match_rounds (zone_id, match_id, round_no, question_id, started_at, deadline,"
                       " closed_at) VALUES (:z, :m, :n, :q, :at, :at, :at)", z=ZONE, m=m, n=n, q=q, at=at)
        for i, (seat, verdict, ms) in enumerate(answers):
            if 1 + i // 2 == n:
                who = a if seat == 0 else b
                await sql(app, "INSERT INTO arena.round_answers (zone_id, match_id, round_no, seat, user_id,"
                               " question_id, answer, elapsed_ms, verdict, score, points) VALUES (:z, :m, :n, :s, :u,"
                               " :q, 'x', :ms, :v, :sc, :sc * 15)", z=ZONE, m=m, n=n, s=seat, u=who.user_id, q=q,
                          ms=ms, v=verdict, sc=1.0 if verdict == "correct" else 0.0)
    return uuid.UUID(str(m))


def finished_event(match_id: uuid.UUID, msg_id: str | None = None) -> Event:
    return Event(id=msg_id or str(uuid.uuid4()), type="arena.match.finished", subject="arena.match.finished",
                 payload={"match_id": str(match_id)}, zone_id=ZONE)


async def apply(app: ArenaApp, match_id: uuid.UUID, msg_id: str | None = None) -> None:
    """Run the consumer's handler in a system transaction, as the IdempotentConsumer does (its
    inbox claim aside: these deliveries test the match-level guard)."""
    async with system_transaction(app.res.db()) as s:
        await consumer.handle(s, finished_event(match_id, msg_id), app.res)
    await after_commit.drain()  # the boards and frames that follow the commit


async def ratings_of(app: ArenaApp, user: uuid.UUID) -> dict[str, Any]:
    rows = await sql(app, "SELECT topic, rating, rd, volatility, games FROM arena.ratings WHERE user_id = :u", u=user)
    return {r.topic: r for r in rows}


async def until(check: Any, timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_one_rated_win_moves_both_players_by_glicko2(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    m = await finished_match(arena, a, b, topic="algebra")
    await apply(arena, m)
    expected_a = glicko2.after_match(glicko2.Rating(), glicko2.Rating(), 1.0)
    expected_b = glicko2.after_match(glicko2.Rating(), glicko2.Rating(), 0.0)
    ra, rb = await ratings_of(arena, a.user_id), await ratings_of(arena, b.user_id)
    assert set(ra) == set(rb) == {"", "algebra"}
    for topic in ("", "algebra"):
        assert abs(ra[topic].rating - expected_a.rating) < 1e-6 and abs(rb[topic].rating - expected_b.rating) < 1e-6
        assert ra[topic].games == 1 and ra[topic].rd >= glicko2.PROVISIONAL_RD  # still provisional ("?")
    pa = (await sql(arena, "SELECT wins, losses, draws, xp, tier_points FROM arena.players WHERE user_id = :u",
                    u=a.user_id))[0]
    pb = (await sql(arena, "SELECT wins, losses, draws, xp, tier_points FROM arena.players WHERE user_id = :u",
                    u=b.user_id))[0]
    assert (pa.wins, pa.losses, pa.xp, pa.tier_points) == (1, 0, 50, round(expected_a.rating))
    assert (pb.wins, pb.losses, pb.xp, pb.tier_points) == (0, 1, 0, round(expected_b.rating))
    me = await arena.ok("GET", "/api/v1/arena/me", a)
    assert me["wins"] == 1 and {r["topic"]: r["display"] for r in me["ratings"]}[""].endswith("?")
    # each question played twice against 1500 players: answered right by a, wrong by b
    qs = await sql(arena, "SELECT q.rating, q.plays FROM arena.questions q JOIN arena.match_rounds r"
                          " ON r.question_id = q.id WHERE r.match_id = :m", m=m)
    once = glicko2.after_match(glicko2.Rating(), glicko2.Rating(), 0.0)  # a got it right: the question lost
    twice = glicko2.after_match(once, glicko2.Rating(), 1.0)  # b did not, against b's pre-match 1500
    assert len(qs) == 3 and all(q.plays == 2 and abs(q.rating - twice.rating) < 1e-6 for q in qs)
    changes = await sql(arena, "SELECT reason, count(*) FROM arena.rating_changes WHERE match_id = :m GROUP BY 1", m=m)
    assert [tuple(c) for c in changes] == [("match", 4)]
    events = await sql(arena, "SELECT count(*) FROM arena.outbox WHERE event_type = 'arena.rating.changed'")
    assert events[0][0] == 4


async def test_a_redelivered_result_changes_ratings_exactly_once(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor()
    m = await finished_match(arena, a, b)
    await apply(arena, m, "msg-1")
    first = (await ratings_of(arena, a.user_id))[""]
    await apply(arena, m, "msg-1")  # the same message again (the consumer's inbox would drop it first)
    await apply(arena, m, "msg-2")  # another message naming the same match
    await asyncio.gather(*(apply(arena, m, f"msg-{i}") for i in range(3, 7)))  # at once
    again = (await ratings_of(arena, a.user_id))[""]
    assert (again.rating, again.rd, again.games) == (first.rating, first.rd, first.games) and again.games == 1
    stats = (await sql(arena, "SELECT wins, xp FROM arena.players WHERE user_id = :u", u=a.user_id))[0]
    assert (stats.wins, stats.xp) == (1, 50)
    assert (await sql(arena, "SELECT count(*) FROM arena.rating_changes WHERE match_id = :m", m=m))[0][0] == 2


async def finished_events(app: ArenaApp, match_id: uuid.UUID, n: int) -> None:
    """`n` outbox events (n message ids) naming one match, for the relay and the consumer."""
    for _ in range(n):
        async with tenant_transaction(app.res.db(), TenantContext(ZONE, role="zone_admin")) as s:
            await add_event(s, "arena", "arena.match.finished", {"match_id": str(match_id), "mode": "ranked",
                                                                  "rated": True}, zone_id=ZONE)


async def consumed(app: ArenaApp, n: int) -> None:
    async def done() -> bool:
        rows = await sql(app, "SELECT count(*) FROM arena.inbox WHERE consumer = 'arena-ratings'")
        return bool(rows[0][0] == n)

    await until(done)
    await after_commit.drain()


async def test_two_events_for_one_match_through_the_real_consumer_apply_once(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    m = await finished_match(arena, a, b, outcome="draw")
    await finished_events(arena, m, 2)  # the engine retried, say: two message ids
    await consumed(arena, 2)
    assert (await sql(arena, "SELECT count(*) FROM arena.rating_changes WHERE match_id = :m", m=m))[0][0] == 2
    draws = await sql(arena, "SELECT draws FROM arena.players WHERE user_id = ANY(:u)", u=[a.user_id, b.user_id])
    assert [d.draws for d in draws] == [1, 1]
    assert (await sql(arena, "SELECT ratings_applied_at IS NOT NULL FROM arena.matches WHERE id = :m", m=m))[0][0]


async def test_both_players_get_rating_change_frames_after_the_commit(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    m = await finished_match(arena, a, b)
    async with arena.socket(a) as ca, arena.socket(b) as cb:
        await ca.until("snapshot")
        await cb.until("snapshot")
        await finished_events(arena, m, 1)
        frames = [await c.until("rating_change", topic="") for c in (ca, cb)]
    assert {f["data"]["match_id"] for f in frames} == {str(m)}
    assert [f["data"]["outcome"] for f in frames] == ["win", "loss"]
    assert frames[0]["data"]["after"] > frames[0]["data"]["before"] > frames[1]["data"]["after"]
    assert all(f["data"]["reason"] == "match" and f["data"]["provisional"] for f in frames)


async def test_unrated_and_practice_matches_leave_ratings_alone(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor()
    casual = await finished_match(arena, a, b, mode="casual", rated=False)
    await apply(arena, casual)
    assert await ratings_of(arena, a.user_id) == {}
    stats = (await sql(arena, "SELECT wins, xp FROM arena.players WHERE user_id = :u", u=a.user_id))[0]
    assert (stats.wins, stats.xp) == (1, 50)


async def test_inactivity_widens_the_deviation_before_the_game(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor()
    for user in (a, b):
        await arena.ok("GET", "/api/v1/arena/me", user)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    for user in (a, b):
        await sql(arena, "INSERT INTO arena.ratings (zone_id, user_id, topic, rating, rd, volatility, games,"
                         " last_rated_at) VALUES (:z, :u, '', 1700, 50, 0.06, 40, :at)", z=ZONE, u=user.user_id,
                  at=long_ago)
    m = await finished_match(arena, a, b)
    await apply(arena, m)
    stored = glicko2.Rating(1700, 50, 0.06)
    grown = glicko2.decayed(stored, 100)
    assert grown.rd > 65  # 50 grown by 100 days (21.4 rating periods) of inactivity
    want = glicko2.after_match(stored, grown, 1.0, days_inactive=100)
    got = (await ratings_of(arena, a.user_id))[""]
    assert abs(got.rating - want.rating) < 1e-3 and abs(got.rd - want.rd) < 1e-3 and got.games == 41


async def test_a_match_finished_by_the_engine_is_rated_once_even_when_its_event_comes_again(arena: ArenaApp) -> None:
    for i in range(arena.state.settings.round_count):
        await sql(arena, "INSERT INTO arena.questions (zone_id, type, content, answer) VALUES (:z, 'short', :c, '1')",
                  z=ZONE, c=f"engine question {i}")
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    m = await matches.create_match(arena.res, ZONE, "ranked", "", [matches.Seat(a.user_id, a.org_id),
                                                                   matches.Seat(b.user_id, b.org_id)])
    await rounds.forfeit(arena.res, ZONE, b.user_id, m.id)
    await consumed(arena, 1)
    first = {u: (await ratings_of(arena, u))[""] for u in (a.user_id, b.user_id)}
    assert first[a.user_id].rating > 1500 > first[b.user_id].rating
    payload = (await sql(arena, "SELECT payload FROM arena.outbox WHERE event_type = 'arena.match.finished'"))[0][0]
    async with tenant_transaction(arena.res.db(), TenantContext(ZONE, role="zone_admin")) as s:
        await add_event(s, "arena", "arena.match.finished", dict(payload), zone_id=ZONE)  # the engine's event again
    await consumed(arena, 2)
    again = {u: (await ratings_of(arena, u))[""] for u in (a.user_id, b.user_id)}
    assert again == first
    assert (await sql(arena, "SELECT count(*) FROM arena.rating_changes WHERE match_id = :m", m=m.id))[0][0] == 2
    stats = await sql(arena, "SELECT wins, losses FROM arena.players WHERE user_id = ANY(:u) ORDER BY wins",
                      u=[a.user_id, b.user_id])
    assert [(s.wins, s.losses) for s in stats] == [(0, 1), (1, 0)]


async def test_matches_of_one_pair_applied_at_once_do_not_deadlock(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    rated = [await finished_match(arena, *((a, b) if i % 2 else (b, a))) for i in range(4)]
    casual = [await finished_match(arena, *((a, b) if i % 2 else (b, a)), mode="casual", rated=False)
              for i in range(4)]
    await asyncio.gather(*(apply(arena, m) for m in rated + casual))
    games = {u: (await ratings_of(arena, u))[""].games for u in (a.user_id, b.user_id)}
    assert games == {a.user_id: 4, b.user_id: 4}
    stats = await sql(arena, "SELECT wins, losses FROM arena.players WHERE user_id = ANY(:u)", u=[a.user_id, b.user_id])
    assert [(s.wins, s.losses) for s in stats] == [(4, 4), (4, 4)]


async def test_matches_of_known_players_without_a_rating_yet_applied_at_once_count_every_game(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    for user in (a, b):  # profiles exist, ratings do not: no rating row to lock yet
        await arena.ok("GET", "/api/v1/arena/me", user)
    rated = [await finished_match(arena, *((a, b) if i % 2 else (b, a))) for i in range(4)]
    await asyncio.gather(*(apply(arena, m) for m in rated))
    games = {u: (await ratings_of(arena, u))[""].games for u in (a.user_id, b.user_id)}
    assert games == {a.user_id: 4, b.user_id: 4}
    changes = await sql(arena, "SELECT rating_before, rating_after FROM arena.rating_changes WHERE user_id = :u"
                               " AND topic = '' ORDER BY created_at, id", u=a.user_id)
    assert len({c.rating_before for c in changes}) == 4  # each game started from the one before
