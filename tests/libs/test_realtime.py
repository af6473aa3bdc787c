"""megacity.realtime against the real Redis, served by uvicorn in this process and driven by a real
WebSocket client: fan-out across two replicas, room isolation, audiences, resume with no gap and
no duplicate while publishing goes on, resync past the kept log, slow consumers cut off with 4408
without holding the room, `close` after a frame, hello timeout, bad frames, direct replies and
errors, and strictly increasing sequence numbers under concurrent publishers."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from megacity.realtime import (
    CLOSE_BAD_FRAME,
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    CLOSE_SESSION_ENDED,
    CLOSE_SLOW_CONSUMER,
    CLOSE_UNAUTHENTICATED,
    ProtocolError,
    Room,
    RoomLog,
    audience_matches,
    parse_client_frame,
    to_participant,
)
from megacity.redis_keys import RedisKeys
from megacity.telemetry_testing import sample_value
from tests.libs.realtime_app import ORG, Replica, replica, room

RECV_TIMEOUT = 5.0


async def _hello(ws: ClientConnection, token: str, last_seq: int | None = None) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "hello", "data": {"token": token, "last_seq": last_seq}}))
    snap = await _recv(ws)
    assert snap["type"] == "snapshot", snap
    return snap


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))


async def _recv_until(ws: ClientConnection, last: int) -> list[dict[str, Any]]:
    """Sequenced frames up to and including seq `last`."""
    out: list[dict[str, Any]] = []
    while not out or out[-1].get("seq", 0) < last:
        frame = await _recv(ws)
        if "seq" in frame:
            out.append(frame)
    return out


async def _closed_code(ws: ClientConnection) -> tuple[int | None, list[dict[str, Any]]]:
    """Read to the end: the close code and the frames before it."""
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)))
    except ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd else None), frames


@pytest.fixture
async def one(namespace: str) -> AsyncIterator[Replica]:
    async with replica(namespace) as r:
        yield r


# -- protocol units ------------------------------------------------------------------------------

def test_client_frames_are_parsed_strictly() -> None:
    frame = parse_client_frame('{"type":"answer","ref":"r1","data":{"a":1}}')
    assert (frame.type, frame.ref, frame.data) == ("answer", "r1", {"a": 1})
    assert parse_client_frame(b'{"type":"ping"}').data == {}
    for bad in ("nope", "[1]", '{"data":{}}', '{"type":"x","data":[1]}', '{"type":"x","ref":5}',
                '{"type":"x","data":{"t":"' + "a" * 5000 + '"}}'):
        with pytest.raises(ProtocolError) as info:
            parse_client_frame(bad)
        assert info.value.close_code == CLOSE_BAD_FRAME and info.value.code == "realtime.bad_frame"


def test_audiences() -> None:
    assert audience_matches("all", None, False) and audience_matches("all", "p1", False)
    assert audience_matches("staff", None, True) and not audience_matches("staff", "p1", False)
    assert audience_matches(to_participant("p1"), "p1", False)
    assert not audience_matches("p:p1", "p2", False) and not audience_matches("p:p1", None, True)


# -- the room log --------------------------------------------------------------------------------

async def test_room_keys_are_tenant_namespaced_and_expire(redis_client, namespace) -> None:
    log = RoomLog(redis_client, RedisKeys(namespace), ttl_seconds=600)
    r = room()
    assert await log.head(r) == 0
    assert await log.publish(r, "chat", {"body": "안녕"}) == 1
    prefix = f"{namespace}:z:1:o:{ORG}:testroom:room:{r.id}"
    assert log.channel(r) == f"{prefix}:ch"
    assert sorted(await redis_client.keys(f"{namespace}:*")) == [f"{prefix}:log", f"{prefix}:seq"]
    assert 0 < await redis_client.ttl(f"{prefix}:seq") <= 600 and 0 < await redis_client.ttl(f"{prefix}:log") <= 600
    replay = await log.replay(r, 0)
    assert replay.complete and len(replay.entries) == 1
    entry = replay.entries[0]
    assert (entry.seq, entry.to, entry.close) == (1, "all", None)
    assert json.loads(entry.frame) == {"v": 1, "seq": 1, "type": "chat", "data": {"body": "안녕"}}
    with pytest.raises(ValueError):
        await log.publish(r, "chat", {}, to="everyone")


async def test_seq_strictly_increasing_under_200_concurrent_publishes(redis_client, namespace, one: Replica) -> None:
    r = room()
    other_log = RoomLog(redis_client, RedisKeys(namespace))  # a second publisher on its own connection
    async with connect(one.url(r)) as ws:
        await _hello(ws, "staff")
        seqs = await asyncio.gather(*((one.log if i % 2 else other_log).publish(r, "chat", {"i": i}) for i in range(200)))
        assert sorted(seqs) == list(range(1, 201))
        received = await _recv_until(ws, 200)
    assert [f["seq"] for f in received] == list(range(1, 201))
    # each frame carries the data published with its seq
    by_seq = {seq: i for i, seq in enumerate(seqs)}
    assert all(f["data"]["i"] == by_seq[f["seq"]] for f in received)
    replay = await one.log.replay(r, 0)
    assert [e.seq for e in replay.entries] == list(range(1, 201))


async def test_replay_past_the_kept_log_is_incomplete(redis_client, namespace) -> None:
    log = RoomLog(redis_client, RedisKeys(namespace), maxlen=10)
    r = room()
    for i in range(300):
        await log.publish(r, "chat", {"i": i})
    kept = await log.replay(r, 299)
    assert kept.complete and [e.seq for e in kept.entries] == [300]
    assert not (await log.replay(r, 1)).complete
    assert not (await log.replay(r, 301)).complete  # ahead of the head: the log was lost
    assert (await log.replay(r, 300)).complete


# -- fan-out -------------------------------------------------------------------------------------

async def test_two_replicas_fan_out_one_room_and_rooms_stay_apart(namespace) -> None:
    r1, r2 = room(), room()
    async with replica(namespace) as a, replica(namespace) as b:
        async with connect(a.url(r1)) as on_a, connect(b.url(r1)) as on_b, connect(a.url(r2)) as other_room:
            snaps = [await _hello(on_a, "p:alice"), await _hello(on_b, "p:bob"), await _hello(other_room, "p:carol")]
            assert [s["seq"] for s in snaps] == [0, 0, 0] and snaps[0]["resync"] is False
            assert snaps[0]["data"] == {"head": 0, "me": "alice"}
            # a frame published through replica B (a client's "publish" frame) reaches replica A
            await on_b.send(json.dumps({"type": "publish", "ref": "x1", "data": {"body": "hi from b"}}))
            early = []
            ack = await _recv(on_b)
            while "seq" in ack:  # the room frame itself may come before the ack
                early.append(ack)
                ack = await _recv(on_b)
            assert ack == {"v": 1, "type": "publish_ack", "ref": "x1", "data": {"seq": 1}}
            await a.log.publish(r1, "chat", {"body": "second"})
            await a.log.publish(r2, "chat", {"body": "room two"})
            for ws, before in ((on_a, []), (on_b, early)):
                frames = before + await _recv_until(ws, 2)
                assert [(f["seq"], f["data"]["body"]) for f in frames] == [(1, "hi from b"), (2, "second")]
            only = await _recv_until(other_room, 1)
            assert [(f["seq"], f["data"]["body"]) for f in only] == [(1, "room two")]
            assert a.hub.connections(r1) == 1 and b.hub.connections(r1) == 1 and b.hub.connections(r2) == 0
        # nothing else was waiting for the other room's client
    assert a.hub.connections() == 0


async def test_audience_filtering_live_and_on_replay(one: Replica) -> None:
    r = room()
    async with connect(one.url(r)) as staff, connect(one.url(r)) as p1, connect(one.url(r)) as p2:
        for ws, token in ((staff, "staff"), (p1, "p:p1"), (p2, "p:p2")):
            await _hello(ws, token)
        await one.log.publish(r, "chat", {"n": 1})                      # 1 all
        await one.log.publish(r, "held", {"n": 2}, to="staff")          # 2 staff
        await one.log.publish(r, "score", {"n": 3}, to=to_participant("p1"))  # 3 p1
        await one.log.publish(r, "score", {"n": 4}, to="p:p2")          # 4 p2
        await one.log.publish(r, "chat", {"n": 5})                      # 5 all
        got = {name: [f["seq"] for f in await _recv_until(ws, 5)] for name, ws in (("staff", staff), ("p1", p1), ("p2", p2))}
    assert got == {"staff": [1, 2, 5], "p1": [1, 3, 5], "p2": [1, 4, 5]}
    # a resume from 0 replays with the same filter
    async with connect(one.url(r)) as again:
        snap = await _hello(again, "p:p1", last_seq=0)
        assert snap["seq"] == 5 and snap["resync"] is False
        await one.log.publish(r, "chat", {"n": 6})
        assert [f["seq"] for f in await _recv_until(again, 6)] == [1, 3, 5, 6]


async def test_resume_gets_exactly_the_missed_frames_while_publishing_goes_on(one: Replica) -> None:
    r = room()
    total = 300
    done = asyncio.Event()

    async def publisher() -> None:
        for i in range(total):
            await one.log.publish(r, "chat", {"i": i})
            if i % 10 == 0:
                await asyncio.sleep(0.002)
        done.set()

    async with connect(one.url(r)) as first:
        await _hello(first, "p:p1")
        task = asyncio.create_task(publisher())
        seen = await _recv_until(first, 40)
    last = seen[-1]["seq"]
    assert [f["seq"] for f in seen] == list(range(1, last + 1))
    await asyncio.sleep(0.05)  # frames go on while the client is away
    async with connect(one.url(r)) as second:
        snap = await _hello(second, "p:p1", last_seq=last)
        assert snap["resync"] is False and snap["seq"] >= last
        rest = await _recv_until(second, total)
        await task
    assert [f["seq"] for f in rest] == list(range(last + 1, total + 1))  # no gap, no duplicate, in order
    assert [f["data"]["i"] for f in rest] == list(range(last, total))
    # and once more, from the very end: nothing to replay, resync false
    async with connect(one.url(r)) as third:
        snap = await _hello(third, "p:p1", last_seq=total)
        assert (snap["seq"], snap["resync"]) == (total, False)


async def test_resume_older_than_the_kept_log_resyncs(namespace) -> None:
    r = room()
    async with replica(namespace, maxlen=10) as one:
        for i in range(250):
            await one.log.publish(r, "chat", {"i": i})
        async with connect(one.url(r)) as ws:
            snap = await _hello(ws, "p:p1", last_seq=3)
            assert (snap["seq"], snap["resync"]) == (250, True)
            await one.log.publish(r, "chat", {"i": 250})
            assert [f["seq"] for f in await _recv_until(ws, 251)] == [251]  # live frames only, nothing stale


async def test_slow_consumer_is_closed_with_4408_and_the_room_goes_on(namespace) -> None:
    r = room()
    name = "mc_realtime_slow_consumer_disconnects_total"
    before = sample_value(name) or 0.0
    body = {"pad": base64.b64encode(os.urandom(12_000)).decode()}  # incompressible
    async with replica(namespace, queue_limit=8, maxlen=50) as one:
        # a small receive window, so the server's socket fills after a few hundred KB, not megabytes
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", one.port))
        async with connect(one.url(r), max_queue=1, max_size=None, sock=sock) as slow, \
                connect(one.url(r), max_size=None) as fast:
            await _hello(slow, "p:slow")
            await _hello(fast, "p:fast")
            # `slow` stops reading now: the socket buffers fill, then its queue of 8 frames overflows
            published = 0
            received = 0
            while (sample_value(name) or 0.0) == before:
                assert published < 3000, "the slow consumer was never cut off"
                published = await one.log.publish(r, "chat", body)
                received += len(await _recv_until(fast, published))  # the fast client keeps up meanwhile
            more = published + 20
            for _ in range(20):
                published = await one.log.publish(r, "chat", {"after": True})
            assert published == more
            received += len(await _recv_until(fast, published))
            assert received == published  # every frame reached the fast client, in order (checked by _recv_until)
            code, frames = await _closed_code(slow)  # reading again: buffered frames, then the close
    assert code == CLOSE_SLOW_CONSUMER
    seqs = [f["seq"] for f in frames if "seq" in f]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) < published


async def test_close_code_disconnects_the_recipients_after_the_frame(one: Replica) -> None:
    r = room()
    async with connect(one.url(r)) as kicked, connect(one.url(r)) as stays:
        await _hello(kicked, "p:k")
        await _hello(stays, "p:s")
        await one.log.publish(r, "kicked", {"why": "x"}, to="p:k", close=CLOSE_FORBIDDEN)
        await one.log.publish(r, "chat", {"n": 2})
        code, frames = await _closed_code(kicked)
        assert code == CLOSE_FORBIDDEN and [f["type"] for f in frames] == ["kicked"]
        assert [f["seq"] for f in await _recv_until(stays, 2)] == [2]
        await one.log.publish(r, "ended", {}, close=CLOSE_SESSION_ENDED)
        code, frames = await _closed_code(stays)
        assert code == CLOSE_SESSION_ENDED and [f["type"] for f in frames] == ["ended"]
    for _ in range(100):
        if len(one.left) == 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(p.participant_id or "" for p in one.left) == ["k", "s"]
    assert one.hub.connections(r) == 0


async def test_hello_timeout_closes_4401(namespace) -> None:
    async with replica(namespace, hello_timeout=0.3) as one, connect(one.url(room())) as ws:
        code, frames = await _closed_code(ws)
    assert code == CLOSE_UNAUTHENTICATED and frames[0]["data"]["code"] == "realtime.hello_timeout"


async def test_refusals_and_bad_frames(one: Replica) -> None:
    r = room()
    async with connect(one.url(r)) as ws:
        await ws.send("not json")
        code, frames = await _closed_code(ws)
        assert code == CLOSE_BAD_FRAME and frames[0]["type"] == "error" and frames[0]["data"]["code"] == "realtime.bad_frame"
    async with connect(one.url(r)) as ws:
        await ws.send(json.dumps({"type": "chat", "data": {}}))
        assert (await _closed_code(ws))[0] == CLOSE_UNAUTHENTICATED
    async with connect(one.url(r)) as ws:
        await ws.send(json.dumps({"type": "hello", "ref": "h", "data": {"token": "forged"}}))
        code, frames = await _closed_code(ws)
        assert code == CLOSE_UNAUTHENTICATED and frames == [
            {"v": 1, "type": "error", "ref": "h", "data": {"code": "test.token_invalid", "detail": "bad token"}}]
    async with connect(one.url(r)) as ws:
        await ws.send(json.dumps({"type": "hello", "data": {"token": "gone"}}))
        assert (await _closed_code(ws))[0] == CLOSE_SESSION_ENDED  # AppError 410 -> 4410
    async with connect(one.url(r)) as ws:
        await ws.send(json.dumps({"type": "hello", "data": {"token": "staff", "last_seq": "7"}}))
        assert (await _closed_code(ws))[0] == CLOSE_BAD_FRAME
    async with connect(one.url(r)) as ws:
        await ws.send(json.dumps({"type": "hello", "data": {"token": "staff"}}))
        await ws.send(json.dumps({"type": "x", "data": {"t": "a" * 5000}}))  # over 4 KB
        code, frames = await _closed_code(ws)
        assert code == CLOSE_BAD_FRAME and frames[-1]["data"]["code"] == "realtime.bad_frame"


async def test_direct_replies_and_app_errors_keep_the_connection(one: Replica) -> None:
    r = room()
    async with connect(one.url(r)) as ws:
        await _hello(ws, "p:p1")
        await ws.send(json.dumps({"type": "echo", "ref": "a1", "data": {"x": 1}}))
        assert await _recv(ws) == {"v": 1, "type": "echo_ack", "ref": "a1", "data": {"x": 1}}
        await ws.send(json.dumps({"type": "boom", "ref": "a2"}))
        assert await _recv(ws) == {"v": 1, "type": "error", "ref": "a2", "data": {"code": "test.conflict", "detail": "no"}}
        await ws.send(json.dumps({"type": "silent"}))
        await ws.send(json.dumps({"type": "reply", "ref": "a3"}))
        assert await _recv(ws) == {"v": 1, "type": "custom", "ref": "a3", "data": {"ok": True}}
        await ws.send(json.dumps({"type": "kickme", "ref": "a4"}))
        code, frames = await _closed_code(ws)
    assert code == CLOSE_FORBIDDEN and frames[0]["data"]["code"] == "test.kicked"
    assert [p.participant_id for p in one.joined] == ["p1"]


async def test_drain_closes_local_connections_with_1001(namespace) -> None:
    r = room()
    async with replica(namespace) as one, connect(one.url(r)) as ws:
        await _hello(ws, "staff")
        await one.hub.close()
        code, _ = await _closed_code(ws)
    assert code == CLOSE_GOING_AWAY


async def test_rooms_of_two_orgs_with_one_room_id_are_apart(one: Replica) -> None:
    """The tenant is part of every key and channel: the same room id in two orgs is two rooms."""
    room_id = uuid.uuid4()
    mine, theirs = room(room_id), Room(1, uuid.uuid4(), "testroom", room_id)
    async with connect(one.url(mine)) as ws:
        await _hello(ws, "staff")
        await one.log.publish(theirs, "chat", {"who": "them"})
        await one.log.publish(mine, "chat", {"who": "us"})
        frames = await _recv_until(ws, 1)
    assert [f["data"]["who"] for f in frames] == ["us"]


async def test_a_dropped_pubsub_link_loses_no_frame(redis_client, one: Replica) -> None:
    """Redis drops the replica's pub/sub connection mid-stream: frames published meanwhile are
    filled in from the room log, in order, before the next live one."""
    r = room()
    async with connect(one.url(r)) as ws:
        await _hello(ws, "staff")
        for i in range(5):
            await one.log.publish(r, "chat", {"i": i})
        assert [f["seq"] for f in await _recv_until(ws, 5)] == [1, 2, 3, 4, 5]
        host, port = one.hub._pubsub.connection._writer.get_extra_info("sockname")[:2]
        clients = [c for c in (await redis_client.client_list()) if c["addr"] == f"{host}:{port}"]
        assert len(clients) == 1
        await redis_client.client_kill_filter(_id=clients[0]["id"])
        for i in range(5, 10):
            await one.log.publish(r, "chat", {"i": i})
        await asyncio.sleep(0.8)
        await one.log.publish(r, "chat", {"i": 10})
        frames = await _recv_until(ws, 11)
    assert [f["seq"] for f in frames] == list(range(6, 12))
    assert [f["data"]["i"] for f in frames] == list(range(5, 11))


async def test_a_lost_counter_continues_after_the_log(redis_client, namespace) -> None:
    log = RoomLog(redis_client, RedisKeys(namespace))
    r = room()
    for i in range(3):
        await log.publish(r, "chat", {"i": i})
    await redis_client.delete(f"{namespace}:z:1:o:{ORG}:testroom:room:{r.id}:seq")
    assert await log.publish(r, "chat", {"i": 3}) == 4
    assert await log.head(r) == 4
    assert [e.seq for e in (await log.replay(r, 0)).entries] == [1, 2, 3, 4]
