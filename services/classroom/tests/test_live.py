"""The live session over real WebSockets against the real service, PostgreSQL and Redis: join and
snapshot, chat with moderation and pacing, cards and server-timed answers, resume with no gap,
teacher actions, late join, and a participant token that works only in its own session."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from google.protobuf import json_format
from websockets.exceptions import ConnectionClosed

from mcproto.events.v1.events_pb2 import ClassroomAnswerRecorded
from services.classroom.tests.conftest import ClassroomApp
from services.classroom.tests.live_helpers import join, problem, quiet, show, start


async def test_join_snapshot_and_joined_frames(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school, title="Warm-up")
    async with classroom.socket(s["code"], school.teacher.token) as teacher:
        snap = await teacher.until("snapshot")
        assert snap["data"]["me"] == {"staff": True} and snap["data"]["participants"] == []
        a = await join(classroom, s["code"], "민지")
        assert a["status"] == "active" and a["nickname"] == "민지"
        joined = await teacher.until("joined")
        assert joined["data"]["participant"]["nickname"] == "민지" and joined["seq"] > snap["seq"]
        async with classroom.socket(s["code"], a["token"]) as student:
            mine = await student.until("snapshot")
            me = mine["data"]["me"]
            assert me["nickname"] == "민지" and me["score"] == 0 and me["rank"] == 1
            assert mine["data"]["session"]["title"] == "Warm-up" and mine["data"]["card"] is None
            assert "participants" not in mine["data"]
    taken = await classroom.call("POST", f"/api/v1/classroom/join/{s['code']}",
                                 json={"nickname": " 민지 ", "avatar": "owl"})
    assert taken.status_code == 409 and taken.json()["code"] == "classroom.nickname_taken"
    rude = await classroom.call("POST", f"/api/v1/classroom/join/{s['code']}", json={"nickname": "f u c k", "avatar": "x"})
    assert rude.status_code == 422 and rude.json()["code"] == "classroom.nickname_rejected"


async def test_chat_moderation_pacing_mute_and_hide(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school)
    a, b = await join(classroom, s["code"], "Ann"), await join(classroom, s["code"], "Ben")
    async with classroom.socket(s["code"], a["token"]) as ca, classroom.socket(s["code"], b["token"]) as cb, \
            classroom.socket(s["code"], school.teacher.token) as ct:
        for c in (ca, cb, ct):
            await c.until("snapshot")
        await ca.send("chat", {"body": "Is it 3/4?"}, ref="m1")
        ack = await ca.until("chat_ack")
        assert ack["ref"] == "m1" and ack["data"]["status"] == "visible"
        got = await cb.until("chat")
        assert got["data"]["body"] == "Is it 3/4?" and got["data"]["author"]["nickname"] == "Ann"
        # Moderated content never reaches the class; the sender learns, the teacher sees it.
        await ca.send("chat", {"body": "you are a f.u.c.k.i.n.g idiot"})
        err = await ca.until("error")
        assert err["data"]["code"] == "classroom.message_rejected"
        filtered = await ct.until("message_filtered")
        assert "idiot" in filtered["data"]["body"]
        await ca.send("chat", {"body": "sorry"})
        nxt = await cb.until("chat")
        assert nxt["data"]["body"] == "sorry"  # the rude one never came in between
        # Pacing: bursts of 5, then 1/s.
        for i in range(8):
            await cb.send("chat", {"body": f"spam {i}"})
        codes = []
        for _ in range(8):
            frame = await cb.recv()
            while frame["type"] not in ("chat_ack", "error"):
                frame = await cb.recv()
            codes.append(frame["type"] if frame["type"] == "chat_ack" else frame["data"]["code"])
        assert codes[:5] == ["chat_ack"] * 5 and "classroom.chat_rate_limited" in codes[5:]
        # Silent mute: Ann still sees her message as sent; nobody else gets it.
        await classroom.ok("PATCH", f"/api/v1/classroom/sessions/{s['id']}/participants/{a['participant_id']}",
                           school.teacher, json={"muted": True})
        await ca.send("chat", {"body": "hello?"})
        echoed = await ca.until("chat", body="hello?")
        assert echoed["data"]["status"] == "visible"
        assert all(f.get("data", {}).get("body") != "hello?" for f in await quiet(cb))
        # Hide: everyone gets message_hidden.
        msg_id = got["data"]["id"]
        await classroom.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/messages/{msg_id}/hide", school.teacher)
        hidden = await cb.until("message_hidden")
        assert hidden["data"]["id"] == msg_id
    rows = await classroom.db.sql("SELECT body, status, moderated FROM classroom.messages ORDER BY created_at")
    by_body = {r[0]: (r[1], r[2]) for r in rows}
    assert by_body["Is it 3/4?"] == ("hidden", True) and by_body["hello?"] == ("hidden", True)
    assert by_body["you are a f.u.c.k.i.n.g idiot"] == ("hidden", True) and by_body["sorry"] == ("visible", False)


async def test_hold_for_approval(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school, chat_mode="hold")
    a, b = await join(classroom, s["code"], "Ann"), await join(classroom, s["code"], "Ben")
    async with classroom.socket(s["code"], a["token"]) as ca, classroom.socket(s["code"], b["token"]) as cb, \
            classroom.socket(s["code"], school.teacher.token) as ct:
        for c in (ca, cb, ct):
            await c.until("snapshot")
        await ca.send("chat", {"body": "can I go?"})
        assert (await ca.until("chat_ack"))["data"]["status"] == "held"
        held = await ct.until("message_held")
        assert all(f["type"] != "chat" for f in await quiet(cb))
        await classroom.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/messages/{held['data']['id']}/show",
                           school.teacher)
        assert (await cb.until("chat"))["data"]["body"] == "can I go?"


async def test_cards_answers_tally_and_misconceptions(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school)
    p = await problem(classroom, school.teacher, explanation="1/2 = 2/4")
    players = [await join(classroom, s["code"], n) for n in ("Ann", "Ben", "Cho")]
    async with classroom.socket(s["code"], players[0]["token"]) as c0, \
            classroom.socket(s["code"], players[1]["token"]) as c1, \
            classroom.socket(s["code"], players[2]["token"]) as c2:
        for c in (c0, c1, c2):
            await c.until("snapshot")
        card = await show(classroom, school, s, p["id"], seconds=30)
        shown = await c0.until("card_shown")
        assert shown["data"]["card_no"] == card["card_no"] == 1
        assert "answer" not in shown["data"]["problem"] and shown["data"]["problem"]["prompt"] == "1/2 + 1/4 = ?"
        await c0.send("answer", {"card_no": 1, "answer": "0.75"})
        await c1.send("answer", {"card_no": 1, "answer": "2/6"})
        await c2.send("answer", {"card_no": 1, "answer": " 3 / 4 "})
        acks = [(await c.until("answer_ack"))["data"] for c in (c0, c1, c2)]
        assert [a["correct"] for a in acks] == [True, False, True]
        assert acks[1]["points"] == 0 and 500 <= acks[0]["points"] <= 1000
        await c0.send("answer", {"card_no": 1, "answer": "3/4"})
        assert (await c0.until("error"))["data"]["code"] == "classroom.already_answered"
        tally = await classroom.ok("GET", f"/api/v1/classroom/sessions/{s['id']}/cards/1/tally", school.teacher)
        assert tally["answered"] == 3 and tally["correct"] == 2 and tally["stored"] == {"answered": 3, "correct": 2}
        closed = await classroom.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/cards/current/close",
                                    school.teacher)
        assert closed["answer"] == "3/4" and closed["explanation"] == "1/2 = 2/4"
        assert {"answer": "1/3", "count": 1} in closed["by_answer"]  # 2/6, in lowest terms
        got = await c1.until("card_closed")
        assert got["data"]["answered"] == 3
        board = await c1.until("leaderboard")
        assert [t["nickname"] for t in board["data"]["top"]][2] == "Ben"
        await c1.send("answer", {"card_no": 1, "answer": "3/4"})
        assert (await c1.until("error"))["data"]["code"] == "classroom.card_closed"
    events = await classroom.db.sql("SELECT payload FROM classroom.outbox WHERE event_type = 'classroom.answer.recorded'")
    recorded = [json_format.ParseDict(e[0], ClassroomAnswerRecorded()) for e in events]
    assert sorted((r.correct, r.mode) for r in recorded) == [(False, "live"), (True, "live"), (True, "live")]


async def test_accuracy_scoring_and_extra_time(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school, scoring="accuracy")
    p = await problem(classroom, school.teacher, type="vocabulary", prompt="사과 in English?", answer="apple")
    slow, fast = await join(classroom, s["code"], "Slow"), await join(classroom, s["code"], "Fast")
    await classroom.ok("PATCH", f"/api/v1/classroom/sessions/{s['id']}/participants/{slow['participant_id']}",
                       school.teacher, json={"extra_time_seconds": 30})
    async with classroom.socket(s["code"], slow["token"]) as cs, classroom.socket(s["code"], fast["token"]) as cf:
        await cs.until("snapshot")
        await cf.until("snapshot")
        await show(classroom, school, s, p["id"], seconds=5)
        # The card's time passes (moved on the server's clock: the card closed 2 s ago).
        lk = f"{classroom.runtime.settings.redis_key_prefix}"
        redis = classroom.runtime.resources.redis
        keys = [k async for k in redis.scan_iter(match=f"{lk}:*:card")]
        assert len(keys) == 1
        shown = int(await redis.hget(keys[0], "shown_ms"))
        await redis.hset(keys[0], mapping={"shown_ms": shown - 7000, "closes_ms": shown - 2000})
        await cf.send("answer", {"card_no": 1, "answer": "Apple"})
        assert (await cf.until("error"))["data"]["code"] == "classroom.card_closed"
        await cs.send("answer", {"card_no": 1, "answer": "Apple!"})
        ack = (await cs.until("answer_ack"))["data"]
        assert ack["correct"] and ack["points"] == 1000 and ack["elapsed_ms"] >= 7000


async def test_late_join_gets_the_card_and_reconnect_resumes_without_gap(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school)
    p = await problem(classroom, school.teacher)
    a = await join(classroom, s["code"], "Ann")
    async with classroom.socket(s["code"], a["token"]) as ca:
        await ca.until("snapshot")
        await show(classroom, school, s, p["id"], seconds=60)
        await ca.until("card_shown")
        await ca.send("answer", {"card_no": 1, "answer": "3/4"})
        score = (await ca.until("answer_ack"))["data"]["score"]
        last = max(f["seq"] for f in ca.frames if "seq" in f)
    late = await join(classroom, s["code"], "Late")
    async with classroom.socket(s["code"], late["token"]) as cl:
        snap = (await cl.until("snapshot"))["data"]
        assert snap["card"]["card_no"] == 1 and 50_000 < snap["card"]["time_left_ms"] <= 60_000
        assert snap["card"]["answered"] is False
        for i in range(5):  # Ann is away while these happen
            await cl.send("chat", {"body": f"missed {i}"})
            await cl.until("chat_ack")
            await asyncio.sleep(0.2)
    for drop in range(2):  # however many drops
        async with classroom.socket(s["code"], a["token"], last_seq=last) as ca:
            snap = await ca.until("snapshot")
            assert snap["resync"] is False
            me = snap["data"]["me"]
            assert me["nickname"] == "Ann" and me["score"] == score and snap["data"]["card"]["answered"] is True
            history = snap["data"]["chat"]
            assert [m["body"] for m in history] == [f"missed {i}" for i in range(5)]
            assert {m["author"]["avatar"] for m in history} == {"fox"}
            replay = [f for f in await quiet(ca, 0.5) if "seq" in f]
            seqs = [f["seq"] for f in replay]
            assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) and all(q > last for q in seqs)
            assert seqs == await expected_seqs(classroom, s, a["participant_id"], last)
            if drop == 0:
                bodies = [f["data"]["body"] for f in replay if f["type"] == "chat"]
                assert bodies == [f"missed {i}" for i in range(5)]
                last = max([last, *seqs])


async def expected_seqs(app: ClassroomApp, session: dict, participant_id: str, after: int) -> list[int]:
    """What the log holds after `after` for this participant's audience (staff-only frames excluded)."""
    from megacity.realtime.protocol import audience_matches
    from services.classroom.live_state import room_of

    room = room_of(1, app.org_a, uuid.UUID(session["id"]))
    replay = await app.runtime.app.state.classroom.log().replay(room, after)
    return [e.seq for e in replay.entries if audience_matches(e.to, participant_id, False)]


async def test_participant_token_only_works_in_its_session(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s1 = await start(classroom, school)
    s2 = await classroom.ok("POST", "/api/v1/classroom/sessions", school.admin, 201,
                            json={"class_id": school.other_class})
    a = await join(classroom, s1["code"], "Ann")
    async with classroom.socket(s2["code"], a["token"]) as c:
        err = await c.until("error")
        assert err["data"]["code"] == "classroom.wrong_session"
        with pytest.raises(ConnectionClosed) as closed:
            await c.recv()
        assert closed.value.rcvd.code == 4403
    async with classroom.socket(s1["code"], a["token"] + "x") as c:
        assert (await c.until("error"))["data"]["code"] == "classroom.participant_token_invalid"
    me = await classroom.ok("GET", "/api/v1/classroom/participants/me", None,
                            headers={"Authorization": f"Bearer {a['token']}"})
    assert me["nickname"] == "Ann" and me["status"] == "active"


async def test_kick_ban_lock_and_approval(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school)
    a, b = await join(classroom, s["code"], "Ann"), await join(classroom, s["code"], "Ben")
    base = f"/api/v1/classroom/sessions/{s['id']}/participants"
    async with classroom.socket(s["code"], a["token"]) as ca:
        await ca.until("snapshot")
        await classroom.ok("PATCH", f"{base}/{a['participant_id']}", school.teacher, json={"status": "kicked"})
        assert (await ca.until("kicked"))["data"]["banned"] is False
        with pytest.raises(ConnectionClosed) as closed:
            await ca.recv()
        assert closed.value.rcvd.code == 4403
    async with classroom.socket(s["code"], a["token"]) as ca:
        assert (await ca.until("error"))["data"]["code"] == "classroom.participant_banned"
    await classroom.ok("PATCH", f"{base}/{b['participant_id']}", school.teacher, json={"status": "banned"})
    again = await classroom.call("POST", f"/api/v1/classroom/join/{s['code']}", json={"nickname": "BEN", "avatar": "x"})
    assert again.status_code == 403 and again.json()["code"] == "classroom.participant_banned"
    await classroom.ok("PATCH", f"/api/v1/classroom/sessions/{s['id']}", school.teacher, json={"locked": True})
    locked = await classroom.call("POST", f"/api/v1/classroom/join/{s['code']}", json={"nickname": "Cy", "avatar": "x"})
    assert locked.status_code == 423 and locked.json()["code"] == "classroom.session_locked"
    await classroom.ok("PATCH", f"/api/v1/classroom/sessions/{s['id']}", school.teacher,
                       json={"locked": False, "approve_arrivals": True})
    c = await join(classroom, s["code"], "Cy")
    assert c["status"] == "pending"
    async with classroom.socket(s["code"], c["token"]) as cc:
        assert (await cc.until("error"))["data"]["code"] == "classroom.participant_pending"
    await classroom.ok("PATCH", f"{base}/{c['participant_id']}", school.teacher, json={"status": "active"})
    async with classroom.socket(s["code"], c["token"]) as cc:
        assert (await cc.until("snapshot"))["data"]["me"]["nickname"] == "Cy"


async def test_ending_disconnects_everyone(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school)
    a = await join(classroom, s["code"], "Ann")
    async with classroom.socket(s["code"], a["token"]) as ca:
        await ca.until("snapshot")
        await classroom.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/extend", school.teacher, json={"minutes": 5})
        assert (await ca.until("session_extended"))["data"]["seconds_left"] > 30 * 60
        await classroom.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/end", school.teacher)
        assert (await ca.until("session_ended"))["data"]["reason"] == "ended"
        with pytest.raises(ConnectionClosed) as closed:
            await ca.recv()
        assert closed.value.rcvd.code == 4410


async def test_invisible_characters_in_answers_never_fail_the_batch(classroom: ClassroomApp) -> None:
    """PostgreSQL refuses a NUL and a lone surrogate: a NUL is cleaned away, a lone surrogate is
    not text (422 answer_invalid); either way the class's other answers, stored in the same batch,
    are unaffected."""
    school = await classroom.school()
    s = await start(classroom, school)
    p = await problem(classroom, school.teacher)
    a, b = await join(classroom, s["code"], "Ann"), await join(classroom, s["code"], "Ben")
    async with classroom.socket(s["code"], a["token"]) as ca, classroom.socket(s["code"], b["token"]) as cb:
        await ca.until("snapshot")
        await cb.until("snapshot")
        await show(classroom, school, s, p["id"])
        await ca.until("card_shown")
        await cb.until("card_shown")
        await ca.send("answer", {"card_no": 1, "answer": "3/4\ud800"})  # not text at all: refused, 4xx
        assert (await ca.until("error"))["data"]["code"] == "classroom.answer_invalid"
        await ca.send("answer", {"card_no": 1, "answer": "3/4\u0000"})  # a NUL is cleaned away
        await cb.send("answer", {"card_no": 1, "answer": "3/4"})
        assert (await ca.until("answer_ack"))["data"]["correct"] is True
        assert (await cb.until("answer_ack"))["data"]["correct"] is True
    stored = await classroom.db.sql("SELECT answer FROM classroom.answers ORDER BY answer")
    assert [r[0] for r in stored] == ["3/4", "3/4"]


async def test_an_ended_session_never_comes_back_in_redis(classroom: ClassroomApp) -> None:
    """A late publish of the session as it was (active) cannot overwrite its end."""
    from megacity.db import TenantContext, tenant_transaction
    from services.classroom.sessions import queries
    from services.classroom.sessions import service as sessions

    school = await classroom.school()
    s = await start(classroom, school)
    res = classroom.runtime.resources
    async with tenant_transaction(res.db(), TenantContext(1, role="zone_admin")) as tx:
        before = await queries.get(tx, uuid.UUID(s["id"]))
    assert before is not None
    await classroom.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/end", school.teacher)
    await sessions.publish_state(res, before)  # the stale, active row arrives last
    gone = await classroom.call("POST", f"/api/v1/classroom/join/{s['code']}", json={"nickname": "Zed", "avatar": "x"})
    assert gone.status_code == 410 and gone.json()["code"] == "classroom.session_ended"
