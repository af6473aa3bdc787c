"""The arena WebSocket with real clients: hello and authentication, the snapshot (active match,
round on show, time left, answered?), resume by sequence number after a drop, and the
disconnect rule (reconnect within the grace keeps the match; staying away forfeits it)."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from websockets.exceptions import ConnectionClosed

from megacity.testing import TestDatabase, TokenMint
from services.arena.live import service as live_service
from services.arena.matches import service
from services.arena.matches.service import Seat
from services.arena.tests.conftest import OTHER_ZONE, ZONE, ArenaApp, arena_service
from services.arena.tests.test_matches import FAST, got, live, seed, sql


@pytest.fixture
async def fast(test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> AsyncIterator[ArenaApp]:
    """Arena with 3 rounds, a short gap and a 1 s forfeit grace."""
    async with arena_service(test_db, namespace, token_mint, **FAST) as app:
        yield app


async def test_hello_needs_a_players_token(fast: ArenaApp) -> None:
    parent = fast.actor("parent")
    async with fast.socket(parent) as c:
        err = await c.recv()
        assert err["type"] == "error" and err["data"]["code"] == "auth.permission_denied"
        try:
            await asyncio.wait_for(c.ws.recv(), 5)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 4403
    other_zone = fast.actor("student", zone_id=OTHER_ZONE)
    other_zone.host = "api.univprepai.com"  # a zone-2 token on zone 1's host
    async with fast.socket(other_zone) as c:
        assert (await c.recv())["data"]["code"] == "auth.zone_mismatch"
    me = fast.actor()
    async with live(fast, me) as c:
        await c.send("ping", ref="p")
        assert (await c.until("pong"))["ref"] == "p"
        await c.send("dance")
        assert (await c.until("error"))["data"]["code"] == "arena.unknown_frame"


async def test_publish_to_user_reaches_every_socket_of_the_player(fast: ArenaApp) -> None:
    me, other = fast.actor(), fast.actor()
    async with live(fast, me) as one, live(fast, me) as two, live(fast, other) as third:
        seq = await live_service.publish_to_user(fast.res, ZONE, me.user_id, "queue_status", {"status": "idle"})
        for c in (one, two):
            frame = await c.until("queue_status")
            assert frame["seq"] == seq and frame["data"] == {"status": "idle"}
        assert not [f for f in third.frames if f["type"] == "queue_status"]


async def test_resume_after_reconnect_gets_the_snapshot_and_missed_frames(fast: ArenaApp) -> None:
    questions = await seed(fast)
    a, b = fast.actor(), fast.actor()
    async with live(fast, a) as ca:
        async with live(fast, b) as cb:
            m = await service.create_match(fast.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
            start = await got(cb, "round_start", round=1)
            last_seq = start["seq"]
        # b is away: a answers round 1, b misses opponent_answered
        qid = start["data"]["question"]["id"]
        await got(ca, "round_start", round=1)
        await ca.send("answer", {"match_id": str(m.id), "round": 1, "answer": questions[qid]})
        await got(ca, "answer_ack")
        await asyncio.sleep(0.2)
        disconnected = await sql(fast, "SELECT disconnected_at FROM arena.match_players WHERE match_id = :m AND seat = 1",
                                 m=m.id)
        assert disconnected[0][0] is not None
        async with fast.socket(b, last_seq=last_seq) as cb2:
            snap = await cb2.recv()
            assert snap["type"] == "snapshot" and snap["resync"] is False
            active = snap["data"]["match"]
            assert active["match_id"] == str(m.id) and active["my_seat"] == 1
            assert active["round"]["round"] == 1 and active["round"]["question"]["id"] == qid
            assert active["round"]["answered"] is False and active["round"]["opponent_answered"] is True
            assert 0 < active["round"]["time_left_ms"] <= FAST["round_seconds"] * 1000
            missed = await got(cb2, "opponent_answered")
            assert missed["seq"] == last_seq + 1
            await cb2.send("answer", {"match_id": str(m.id), "round": 1, "answer": "wrong"})
            result = await got(cb2, "round_result", round=1)
            assert result["data"]["seats"][0]["score"] > 0
            await asyncio.sleep(FAST["forfeit_grace_seconds"] + 0.6)  # past the grace: still playing
            assert (await sql(fast, "SELECT status FROM arena.matches WHERE id = :m", m=m.id))[0][0] == "active"
            await got(cb2, "round_start", round=2)


async def test_disconnect_forfeits_after_the_grace(fast: ArenaApp) -> None:
    await seed(fast)
    a, b = fast.actor(), fast.actor()
    async with live(fast, a) as ca:
        async with live(fast, b) as cb:
            m = await service.create_match(fast.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
            await got(cb, "match_found")
        end = await got(ca, "match_result", timeout=FAST["forfeit_grace_seconds"] + 5)
    assert end["data"]["match_id"] == str(m.id) and end["data"]["end_reason"] == "disconnect"
    assert end["data"]["winner_user_id"] == str(a.user_id) and end["data"]["outcomes"] == {"0": "win", "1": "loss"}
    seat = (await sql(fast, "SELECT forfeited, active FROM arena.match_players WHERE match_id = :m AND seat = 1",
                      m=m.id))[0]
    assert seat.forfeited and not seat.active
    # b comes back later: no active match in its snapshot, the result waits in its log
    async with fast.socket(b, last_seq=0) as cb2:
        snap = await cb2.recv()
        assert snap["data"]["match"] is None
        assert (await got(cb2, "match_result"))["data"]["match_id"] == str(m.id)


async def test_ghost_replays_a_past_player(fast: ArenaApp) -> None:
    questions = await seed(fast)
    a, b, c = fast.actor(), fast.actor(), fast.actor()
    async with live(fast, a) as ca, live(fast, b) as cb:
        await service.create_match(fast.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
        for n in (1, 2, 3):
            start = await got(ca, "round_start", round=n)
            mid, qid = start["data"]["match_id"], start["data"]["question"]["id"]
            await ca.send("answer", {"match_id": mid, "round": n, "answer": questions[qid]})
            await cb.send("answer", {"match_id": mid, "round": n, "answer": questions[qid] if n == 1 else "no"})
        await got(ca, "match_result")
    async with live(fast, c) as cc:
        ghost = await service.create_ghost_match(fast.res, ZONE, "casual", "", Seat(c.user_id, c.org_id))
        assert ghost is not None and ghost.opponent_kind == "ghost" and not ghost.rated
        for n in (1, 2, 3):
            await got(cc, "round_start", round=n)
            await got(cc, "opponent_answered", round=n)
            await cc.send("answer", {"match_id": str(ghost.id), "round": n, "answer": "?"})
            result = await got(cc, "round_result", round=n)
            replayed = next(x for x in result["data"]["answers"] if x["seat"] == 1)
            assert replayed["verdict"] == "correct"  # the nearest-rated past player: both 1500, a won every round
        end = await got(cc, "match_result")
    assert end["data"]["rated"] is False and end["data"]["outcomes"]["1"] == "win"
    assert await service.create_ghost_match(fast.res, ZONE, "casual", str(uuid.uuid4()), Seat(c.user_id, c.org_id)) is None


async def test_a_tab_left_open_on_another_replica_keeps_the_match(
        fast: ArenaApp, test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> None:
    """Multi-tab across replicas: closing the player's newest socket (replica 2) while an older one
    stays open (replica 1) starts no forfeit clock; closing the last one does."""
    await seed(fast)
    a, b = fast.actor(), fast.actor()
    async with arena_service(test_db, namespace, token_mint, **FAST) as other, live(fast, a), live(fast, b) as old_tab:
        m = await service.create_match(fast.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
        async with live(other, b, port=other.port) as new_tab:
            await got(new_tab, "round_start", round=1)
        await asyncio.sleep(FAST["forfeit_grace_seconds"] + 0.6)
        seat = await sql(fast, "SELECT disconnected_at FROM arena.match_players WHERE match_id = :m AND seat = 1", m=m.id)
        assert seat[0][0] is None
        assert (await sql(fast, "SELECT status FROM arena.matches WHERE id = :m", m=m.id))[0][0] == "active"
        assert not [f for f in old_tab.frames if f["type"] == "match_result"]
    for _ in range(20):  # both of b's sockets closed now
        gone = await sql(fast, "SELECT disconnected_at FROM arena.match_players WHERE match_id = :m AND seat = 1", m=m.id)
        if gone[0][0] is not None:
            break
        await asyncio.sleep(0.1)
    assert gone[0][0] is not None and not await live_service.connected(fast.res, ZONE, b.user_id)
