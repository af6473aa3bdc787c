"""The match engine with real WebSocket clients (real PostgreSQL, Redis, NATS): a full ranked match
between two players, answers arriving at once on two replicas, the sweeper closing a round whose
replica is gone, and the HTTP face (practice, read, list, 426 on the WebSocket path)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from megacity.db import TenantContext, tenant_transaction
from megacity.testing import TestDatabase, TokenMint
from services.arena.matches import service
from services.arena.matches.service import Seat
from services.arena.matches.sweeper import sweep_zone
from services.arena.tests.conftest import ZONE, Actor, ArenaApp, LiveClient, arena_service

FAST = {"round_count": 3, "round_seconds": 5, "round_gap_seconds": 0.1, "sweep_interval_seconds": 0.2,
        "forfeit_grace_seconds": 1.0}


@pytest.fixture
async def fast(test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> AsyncIterator[ArenaApp]:
    """Arena with 3 rounds, a short gap and a 1 s forfeit grace."""
    async with arena_service(test_db, namespace, token_mint, **FAST) as app:
        yield app


async def sql(app: ArenaApp, query: str, **params: Any) -> list[Any]:
    async with tenant_transaction(app.res.db(), TenantContext(ZONE, role="zone_admin")) as s:
        result = await s.execute(text(query), params)
        return list(result.all()) if result.returns_rows else []  # type: ignore[attr-defined]


async def seed(app: ArenaApp, n: int = 3, org: uuid.UUID | None = None) -> dict[str, str]:
    """`n` short-answer questions (zone-shared unless `org`): question id -> its answer."""
    out = {}
    for i in range(n):
        rows = await sql(app, "INSERT INTO arena.questions (zone_id, org_id, type, content, answer, explanation)"
                              " VALUES (:z, :o, 'short', :c, :a, 'because') RETURNING id",
                         z=ZONE, o=org, c=f"{i} + {i} = ?", a=str(2 * i))
        out[str(rows[0][0])] = str(2 * i)
    return out


@contextlib.asynccontextmanager
async def live(app: ArenaApp, who: Actor, port: int | None = None,
               last_seq: int | None = None) -> AsyncIterator[LiveClient]:
    async with app.socket(who, last_seq=last_seq, port=port) as client:
        snap = await client.recv()
        assert snap["type"] == "snapshot", snap
        yield client


async def got(c: LiveClient, type_: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
    """The first frame of `type_` (whose data has `match`) received so far, or the next to come:
    frames of both players interleave (a round's result can overtake the answer's ack)."""
    for frame in c.frames:
        if frame["type"] == type_ and all(frame.get("data", {}).get(k) == v for k, v in match.items()):
            return frame
    return await c.until(type_, timeout, **match)


async def play_round(app: ArenaApp, questions: dict[str, str], clients: list[LiveClient], round_no: int,
                     right: list[bool], together: bool = False) -> list[dict[str, Any]]:
    """Both players answer round `round_no` (right or wrong); the round_result each got."""
    starts = [await got(c, "round_start", round=round_no) for c in clients]
    match_id = starts[0]["data"]["match_id"]
    expected = questions[starts[0]["data"]["question"]["id"]]

    async def send(c: LiveClient, ok: bool) -> None:
        await c.send("answer", {"match_id": match_id, "round": round_no, "answer": expected if ok else "nope"}, ref="a")

    if together:
        await asyncio.gather(*(send(c, ok) for c, ok in zip(clients, right, strict=True)))
    else:
        for c, ok in zip(clients, right, strict=True):
            await send(c, ok)
    acks = [await got(c, "answer_ack", round=round_no) for c in clients]
    assert [a["data"]["verdict"] for a in acks] == ["correct" if ok else "wrong" for ok in right]
    return [await got(c, "round_result", round=round_no) for c in clients]


async def test_full_ranked_match_between_two_clients(fast: ArenaApp) -> None:
    questions = await seed(fast)
    a, b = fast.actor("student", fast.org_a), fast.actor("student", fast.org_b)
    async with live(fast, a) as ca, live(fast, b) as cb:
        m = await service.create_match(fast.res, ZONE, "ranked", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
        found = [await got(c, "match_found") for c in (ca, cb)]
        assert [f["data"]["my_seat"] for f in found] == [0, 1] and found[0]["data"]["match_id"] == str(m.id)
        for n in (1, 2, 3):
            results = await play_round(fast, questions, [ca, cb], n, [True, n == 2])
            assert results[0]["data"] == results[1]["data"]
            assert {x["seat"]: x["verdict"] for x in results[0]["data"]["answers"]} == \
                {0: "correct", 1: "correct" if n == 2 else "wrong"}
        # the other player heard that a answered, never what
        heard = [f for f in cb.frames if f["type"] == "opponent_answered"]
        assert heard and all("answer" not in f["data"] for f in heard)
        ends = [await got(c, "match_result") for c in (ca, cb)]
    end = ends[0]["data"]
    assert end == ends[1]["data"]
    assert end["winner_user_id"] == str(a.user_id) and end["outcomes"] == {"0": "win", "1": "loss"}
    assert end["end_reason"] == "completed"
    row = (await sql(fast, "SELECT status, rated, winner_user_id FROM arena.matches WHERE id = :m", m=m.id))[0]
    assert row.status == "finished" and row.winner_user_id == a.user_id
    assert (await sql(fast, "SELECT count(*) FROM arena.match_players WHERE match_id = :m AND active", m=m.id))[0][0] == 0
    event = await sql(fast, "SELECT payload FROM arena.outbox WHERE event_type = 'arena.match.finished'")
    assert len(event) == 1
    payload = event[0][0] if isinstance(event[0][0], dict) else json.loads(event[0][0])
    assert payload["match_id"] == str(m.id) and payload["mode"] == "ranked" and payload["rated"] == row.rated
    assert payload["winner_user_id"] == str(a.user_id)
    # b's two wrong answers went to its notebook (read as b: the notebook is personal)
    async with tenant_transaction(fast.res.db(), TenantContext(ZONE, org_id=b.org_id, role="student",
                                                                user_id=b.user_id)) as s:
        wrong = (await s.execute(text("SELECT count(*) FROM arena.notebook WHERE user_id = :u"),
                                 {"u": b.user_id})).scalar_one()
    assert wrong == 2


async def test_simultaneous_answers_on_two_replicas_close_each_round_once(
        fast: ArenaApp, test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> None:
    questions = await seed(fast)
    a, b = fast.actor("student", fast.org_a), fast.actor("student", fast.org_a)
    async with arena_service(test_db, namespace, token_mint, **FAST) as other, \
            live(fast, a) as ca, live(other, b, port=other.port) as cb:
        m = await service.create_match(fast.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
        for n in (1, 2, 3):
            await play_round(fast, questions, [ca, cb], n, [True, True], together=True)
        await asyncio.gather(*(got(c, "match_result") for c in (ca, cb)))
        await asyncio.sleep(0.3)
    for c in (ca, cb):
        per_round = [f["data"]["round"] for f in c.frames if f["type"] == "round_result"]
        assert per_round == [1, 2, 3], per_round
        assert len([f for f in c.frames if f["type"] == "match_result"]) == 1
    rows = await sql(fast, "SELECT round_no, count(*) FROM arena.round_answers WHERE match_id = :m GROUP BY 1 ORDER BY 1",
                     m=m.id)
    assert [tuple(r) for r in rows] == [(1, 2), (2, 2), (3, 2)]
    seats = await sql(fast, "SELECT score, correct FROM arena.match_players WHERE match_id = :m ORDER BY seat", m=m.id)
    assert [s.correct for s in seats] == [3, 3]
    assert all(s.score > 0 for s in seats)


async def test_a_second_answer_and_a_late_answer_are_refused(fast: ArenaApp) -> None:
    await seed(fast)
    a, b, c, d = fast.actor(), fast.actor(), fast.actor(), fast.actor()
    async with live(fast, a) as ca, live(fast, b) as cb:
        m = await service.create_match(fast.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
        await got(ca, "round_start", round=1)
        await ca.send("answer", {"match_id": str(m.id), "round": 1, "answer": "x"})
        await ca.until("answer_ack")
        await ca.send("answer", {"match_id": str(m.id), "round": 1, "answer": "y"})
        assert (await ca.until("error"))["data"]["code"] == "arena.already_answered"
        await ca.send("answer", {"match_id": str(m.id), "round": 2, "answer": "y"})
        assert (await ca.until("error"))["data"]["code"] == "arena.round_closed"
        await ca.send("answer", {"match_id": str(uuid.uuid4()), "round": 1, "answer": "y"})
        assert (await ca.until("error"))["data"]["code"] == "arena.not_found"
        await ca.send("answer", {"match_id": "x", "round": 1})
        assert (await ca.until("error"))["data"]["code"] == "arena.invalid_answer"
        # b answers past the deadline plus the transit grace (before the timer closed the round)
        await fast.db.sql("UPDATE arena.match_rounds SET deadline = now() - interval '300 milliseconds'"
                          " WHERE match_id = CAST(:m AS uuid) AND round_no = 1", m=str(m.id))
        await cb.send("answer", {"match_id": str(m.id), "round": 1, "answer": "late"})
        assert (await cb.until("error"))["data"]["code"] == "arena.round_closed"
        # a may not answer in a match it has no seat in
        others = await service.create_match(fast.res, ZONE, "casual", "", [Seat(c.user_id, c.org_id),
                                                                           Seat(d.user_id, d.org_id)])
        await ca.send("answer", {"match_id": str(others.id), "round": 1, "answer": "y"})
        assert (await ca.until("error"))["data"]["code"] == "arena.not_found"


async def test_sweeper_closes_a_round_whose_replica_is_gone(fast: ArenaApp) -> None:
    await seed(fast)
    a, b = fast.actor(), fast.actor()
    async with live(fast, a) as ca, live(fast, b):
        m = await service.create_match(fast.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
        await got(ca, "round_start", round=1)
        # nobody answers and the local timer is not due yet: move the deadline into the past
        await fast.db.sql("UPDATE arena.match_rounds SET deadline = now() - interval '5 seconds'"
                          " WHERE match_id = CAST(:m AS uuid) AND round_no = 1", m=str(m.id))
        assert await sweep_zone(fast.res, ZONE) == 1
        result = await got(ca, "round_result", round=1)
        assert {x["verdict"] for x in result["data"]["answers"]} == {"timeout"}
        assert await sweep_zone(fast.res, ZONE) == 0  # done once
        await got(ca, "round_start", round=2)


async def test_practice_and_match_http(fast: ArenaApp) -> None:
    await seed(fast, 5)
    me, other, admin = fast.actor(), fast.actor(), fast.actor("zone_admin")
    async with live(fast, me) as c:
        made = await fast.ok("POST", "/api/v1/arena/matches/practice", me, 201, json={"source": "random"})
        assert made["mode"] == "practice" and made["opponent_kind"] == "bot" and not made["rated"]
        found = await got(c, "match_found")
        assert found["data"]["seats"][1]["kind"] == "bot"
        await fast.fails("POST", "/api/v1/arena/matches/practice", me, 409, "arena.in_match", json={})
        start = await got(c, "round_start", round=1)
        assert "answer" not in start["data"]["question"]
        await c.send("forfeit", {"match_id": made["id"]})
        await got(c, "forfeit_ack")
        end = await got(c, "match_result")
        assert end["data"]["end_reason"] == "forfeit" and end["data"]["outcomes"]["0"] == "loss"
    read = await fast.ok("GET", f"/api/v1/arena/matches/{made['id']}", me)
    assert read["status"] == "finished" and [s["kind"] for s in read["seats"]] == ["human", "bot"]
    assert read["rounds"][0]["expected"] is not None
    await fast.fails("GET", f"/api/v1/arena/matches/{made['id']}", other, 404, "arena.not_found")
    assert (await fast.ok("GET", f"/api/v1/arena/matches/{made['id']}", admin))["id"] == made["id"]
    second = await fast.ok("POST", "/api/v1/arena/matches/practice", me, 201, json={"source": "notebook"})
    page = await fast.ok("GET", "/api/v1/arena/matches?limit=1", me)
    assert [x["id"] for x in page["items"]] == [second["id"]] and page["next_cursor"]
    rest = await fast.ok("GET", f"/api/v1/arena/matches?limit=1&cursor={page['next_cursor']}", me)
    assert [x["id"] for x in rest["items"]] == [made["id"]]
    await fast.fails("GET", "/api/v1/arena/matches?cursor=forged", me, 400, "request.invalid_cursor")
    await fast.fails("POST", "/api/v1/arena/matches/practice", me, 422, "arena.invalid_topic", json={"topic": "x"})
    assert (await fast.call("GET", "/api/v1/arena/ws", me)).status_code == 426
