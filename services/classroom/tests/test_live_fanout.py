"""Many at once: two sessions side by side never see each other's frames, answers or tallies; two
classroom replicas serve one session (fan-out through Redis); 300 participants answering one card
within a second lose no answer and the tally equals the stored answers."""
from __future__ import annotations

import asyncio
import contextlib
import time

from megacity.testing import run_service
from services.classroom.tests.conftest import ClassroomApp, LiveClient
from services.classroom.tests.live_helpers import join, problem, quiet, show, start


async def test_two_sessions_never_see_each_other(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s1 = await start(classroom, school)
    s2 = await classroom.ok("POST", "/api/v1/classroom/sessions", school.admin, 201,
                            json={"class_id": school.other_class})
    p = await problem(classroom, school.teacher)
    a1, b1 = await join(classroom, s1["code"], "Ann"), await join(classroom, s1["code"], "Ben")
    a2 = await join(classroom, s2["code"], "Ann")  # the same nickname in another session is fine
    async with classroom.socket(s1["code"], a1["token"]) as c1, classroom.socket(s1["code"], b1["token"]) as d1, \
            classroom.socket(s2["code"], a2["token"]) as c2:
        for c in (c1, d1, c2):
            await c.until("snapshot")
        await show(classroom, school, s1, p["id"])
        await c1.until("card_shown")
        await c1.send("chat", {"body": "only session one"})
        await c1.send("answer", {"card_no": 1, "answer": "3/4"})
        await d1.send("answer", {"card_no": 1, "answer": "1/2"})
        await c1.until("answer_ack")
        await d1.until("answer_ack")
        # Session two's participant answers "card 1" of its own session: there is none.
        await c2.send("answer", {"card_no": 1, "answer": "3/4"})
        assert (await c2.until("error"))["data"]["code"] == "classroom.no_card"
        leaked = [f for f in await quiet(c2, 0.8) if f["type"] not in ("pong",)]
        assert leaked == [], leaked
    t1 = await classroom.ok("GET", f"/api/v1/classroom/sessions/{s1['id']}/cards/1/tally", school.teacher)
    t2 = await classroom.ok("GET", f"/api/v1/classroom/sessions/{s2['id']}/cards/1/tally", school.admin)
    assert (t1["answered"], t1["stored"]["answered"]) == (2, 2) and (t2["answered"], t2["stored"]["answered"]) == (0, 0)


async def test_two_replicas_fan_out_one_session(classroom: ClassroomApp, test_db, namespace, token_mint) -> None:
    """Replica B is a second classroom process on the same database, Redis and NATS."""
    school = await classroom.school()
    s = await start(classroom, school)
    p = await problem(classroom, school.teacher)
    a, b = await join(classroom, s["code"], "Ann"), await join(classroom, s["code"], "Ben")
    async with run_service("classroom", test_db, namespace, secret_key="classroom-test-secret-key",
                           grpc_peers={"tenant": f"127.0.0.1:{classroom.tenant.grpc_port}"}) as replica_b:
        token_mint.install(replica_b.app)
        async with classroom.socket(s["code"], a["token"]) as on_a, \
                classroom.socket(s["code"], b["token"], port=replica_b.http_port) as on_b, \
                classroom.socket(s["code"], school.teacher.token, port=replica_b.http_port) as teacher_b:
            for c in (on_a, on_b, teacher_b):
                await c.until("snapshot")
            await on_a.send("chat", {"body": "sent via A"})
            assert (await on_b.until("chat"))["data"]["body"] == "sent via A"
            await on_b.send("chat", {"body": "sent via B"})
            assert (await on_a.until("chat", body="sent via B"))["data"]["author"]["nickname"] == "Ben"
            await show(classroom, school, s, p["id"])  # HTTP on replica A
            for c in (on_a, on_b, teacher_b):
                await c.until("card_shown")
            await on_b.send("answer", {"card_no": 1, "answer": "0.75"})
            assert (await on_b.until("answer_ack"))["data"]["correct"] is True
            detail = await teacher_b.until("tally_detail")
            assert detail["data"]["answered"] == 1
            board = await on_a.until("leaderboard")
            assert board["data"]["top"][0]["nickname"] == "Ben"
            # The same sequence numbers on both replicas.
            seq_a = [f["seq"] for f in on_a.frames if f.get("type") == "chat"]
            seq_b = [f["seq"] for f in on_b.frames if f.get("type") == "chat"]
            assert seq_a == seq_b


async def _answer(client: LiveClient, answer: str) -> dict:
    await client.send("answer", {"card_no": 1, "answer": answer})
    return (await client.until("answer_ack", timeout=30))["data"]


async def test_300_answers_within_a_second_all_count(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school)
    p = await problem(classroom, school.teacher, type="vocabulary", prompt="사과?", answer="apple")
    n = 300
    joined = await asyncio.gather(*(join(classroom, s["code"], f"P{i:03d}") for i in range(n)))
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(classroom.socket(s["code"], j["token"])) for j in joined]
        await asyncio.gather(*(c.until("snapshot", timeout=30) for c in clients))
        await show(classroom, school, s, p["id"], seconds=60)
        await asyncio.gather(*(c.until("card_shown", timeout=30) for c in clients))
        answers = ["apple" if i % 3 else f"wrong{i % 4}" for i in range(n)]
        t0 = time.monotonic()
        acks = await asyncio.gather(*(_answer(c, a) for c, a in zip(clients, answers, strict=True)))
        took = time.monotonic() - t0
        print(f"{n} answers stored and acknowledged in {took:.2f} s")
    assert len(acks) == n and sum(a["correct"] for a in acks) == sum(a == "apple" for a in answers)
    tally = await classroom.ok("GET", f"/api/v1/classroom/sessions/{s['id']}/cards/1/tally", school.teacher)
    stored = await classroom.db.sql("SELECT count(*), count(DISTINCT participant_id) FROM classroom.answers")
    assert tally["answered"] == tally["stored"]["answered"] == stored[0][0] == stored[0][1] == n
    assert tally["correct"] == tally["stored"]["correct"] == 200
    res = classroom.runtime.resources
    board = await res.redis.zcard(res.keys.tenant(1, school.org, "classroom", "room", s["id"], "board"))
    assert board == n


async def test_close_rebuilds_a_tally_that_fell_behind(classroom: ClassroomApp) -> None:
    """Redis failed between storing answers and counting them (here: the counts are deleted): the
    card's close rebuilds the tally and the scores from the stored answers."""
    school = await classroom.school()
    s = await start(classroom, school)
    p = await problem(classroom, school.teacher)
    players = [await join(classroom, s["code"], n) for n in ("Ann", "Ben", "Cho")]
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(classroom.socket(s["code"], j["token"])) for j in players]
        for c in clients:
            await c.until("snapshot")
        await show(classroom, school, s, p["id"])
        for c, given in zip(clients, ("3/4", "0.75", "2/6"), strict=True):
            await c.until("card_shown")
            await c.send("answer", {"card_no": 1, "answer": given})
            await c.until("answer_ack")
    res = classroom.runtime.resources
    room = ("classroom", "room", s["id"])
    await res.redis.delete(res.keys.tenant(1, school.org, *room, "card") + ":1:tally",
                           res.keys.tenant(1, school.org, *room, "board"))
    closed = await classroom.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/cards/current/close", school.teacher)
    assert (closed["answered"], closed["correct"]) == (3, 2)
    assert {"answer": "1/3", "count": 1} in closed["by_answer"]
    board = await res.redis.zrange(res.keys.tenant(1, school.org, *room, "board"), 0, -1, withscores=True)
    assert len(board) == 3 and sum(1 for _, score in board if score > 0) == 2
