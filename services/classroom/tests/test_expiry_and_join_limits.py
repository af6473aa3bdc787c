"""The clock and the doors: the expiry sweep warns two minutes ahead (once per expiry time),
expires sessions whose time is up — the class gets `session_ended` and is disconnected (4410),
`classroom.session.ended` says `expired` — and join limits per code and per address answer 429."""
from __future__ import annotations

import uuid

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from megacity.testing import run_service
from services.classroom.tests.conftest import HOST, ClassroomApp
from services.classroom.tests.live_helpers import join, start
from services.classroom.upkeep import expire_sessions


async def test_sweep_warns_then_expires_and_disconnects(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await start(classroom, school)
    a = await join(classroom, s["code"], "Ann")
    res, st = classroom.runtime.resources, classroom.runtime.app.state.classroom
    async with classroom.socket(s["code"], a["token"]) as ca:
        await ca.until("snapshot")
        await classroom.move_clock(s["id"], "expires_at = now() + interval '90 seconds'")
        assert await expire_sessions(res, st) == 0
        warned = await ca.until("session_ending")
        assert 0 < warned["data"]["seconds_left"] <= 90
        await expire_sessions(res, st)  # a second pass does not warn twice
        await classroom.move_clock(s["id"], "expires_at = now() - interval '1 second', started_at = now() - interval '1 hour'")
        assert await expire_sessions(res, st) == 1
        ended = await ca.until("session_ended")
        assert ended["data"]["reason"] == "expired"
        assert [f["type"] for f in ca.frames].count("session_ending") == 1
        with pytest.raises(ConnectionClosed) as closed:
            await ca.recv()
        assert closed.value.rcvd.code == 4410
    row = await classroom.db.sql("SELECT status FROM classroom.sessions WHERE id = CAST(:id AS uuid)", id=s["id"])
    assert row[0][0] == "expired"
    events = await classroom.db.sql("SELECT payload->>'reason' FROM classroom.outbox"
                                    " WHERE event_type = 'classroom.session.ended'")
    assert [e[0] for e in events] == ["expired"]
    gone = await classroom.call("POST", f"/api/v1/classroom/join/{s['code']}", json={"nickname": "Bo", "avatar": "x"})
    assert gone.status_code == 410 and gone.json()["code"] == "classroom.session_expired"


async def test_join_limits_per_code_and_address(test_db, namespace, token_mint) -> None:
    async with run_service("classroom", test_db, namespace, secret_key="classroom-test-secret-key",
                           join_per_code_per_minute=3, join_per_address_per_minute=5) as rt:
        token_mint.install(rt.app)
        org = uuid.uuid4()
        admin = {"Host": HOST, "Authorization": "Bearer " + token_mint.token(zone_id=1, role="org_admin", org_id=org)}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=20) as c:
            codes = []
            for _ in range(2):  # org admins run any class: tenant is not asked
                r = await c.post("/api/v1/classroom/sessions", headers=admin, json={"class_id": str(uuid.uuid4())})
                assert r.status_code == 201, r.text
                codes.append(r.json()["code"])
            statuses = [(await c.post(f"/api/v1/classroom/join/{codes[0]}", headers={"Host": HOST},
                                      json={"nickname": f"N{i}", "avatar": "x"})).status_code for i in range(4)]
            assert statuses == [201, 201, 201, 429]
            refused = await c.post(f"/api/v1/classroom/join/{codes[0]}", headers={"Host": HOST},
                                   json={"nickname": "N9", "avatar": "x"})
            assert refused.json()["code"] == "classroom.join_rate_limited" and int(refused.headers["retry-after"]) >= 1
            # The address (one school) has room for two more, on another code; then it is full too.
            other = [(await c.post(f"/api/v1/classroom/join/{codes[1]}", headers={"Host": HOST},
                                   json={"nickname": f"M{i}", "avatar": "x"})).status_code for i in range(2)]
            assert other == [201, 429] or other == [201, 201]
        rows = await test_db.sql("SELECT count(*) FROM classroom.participants")
        assert rows[0][0] == 3 + other.count(201)
