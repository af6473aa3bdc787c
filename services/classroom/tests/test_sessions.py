"""Sessions over HTTP against the real service, tenant, PostgreSQL and Redis: start (code, join URL,
QR), one active session per class, code uniqueness under concurrent starts, extend, end, expiry
(410), teacher scoping, and another org's teacher locked out."""
from __future__ import annotations

import asyncio
import datetime as dt
import re

from google.protobuf import json_format

from mcproto.events.v1.events_pb2 import ClassroomSessionEnded, ClassroomSessionStarted
from services.classroom.sessions.codes import ALPHABET, new_code, normalize_code
from services.classroom.tests.conftest import OTHER_ZONE_HOST, ClassroomApp

CODE = re.compile(f"^[{ALPHABET}]{{8}}$")


def test_codes_use_an_unambiguous_alphabet() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert all(CODE.match(new_code()) for _ in range(2000))
    assert normalize_code(" abcd-2345 ") == "ABCD2345"
    assert normalize_code("ABCD234O") is None and normalize_code("ABC") is None


async def test_start_gives_code_join_url_and_qr(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await classroom.ok("POST", "/api/v1/classroom/sessions", school.teacher, 201,
                           json={"class_id": school.class_id, "title": "Fractions"})
    assert CODE.match(s["code"]) and s["status"] == "active" and s["join_url"] == \
        f"https://app.univprepai.com/join/{s['code']}"
    left = dt.datetime.fromisoformat(s["expires_at"]) - dt.datetime.fromisoformat(s["started_at"])
    assert left == dt.timedelta(minutes=30) and 1790 <= s["seconds_left"] <= 1800
    svg = await classroom.ok("GET", s["qr_svg_url"], school.teacher)
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    png = await classroom.ok("GET", s["qr_png_url"], school.teacher)
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    events = await classroom.db.sql("SELECT event_type, payload FROM classroom.outbox WHERE event_type NOT LIKE 'audit.%'")
    assert [(e[0], e[1]["code"]) for e in events] == [("classroom.session.started", s["code"])]
    json_format.ParseDict(events[0][1], ClassroomSessionStarted())  # the payload is the proto message
    info = await classroom.ok("GET", f"/api/v1/classroom/join/{s['code'].lower()}")
    assert info["title"] == "Fractions" and info["status"] == "active"


async def test_one_active_session_per_class_and_teacher_scope(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    await classroom.ok("POST", "/api/v1/classroom/sessions", school.teacher, 201, json={"class_id": school.class_id})
    again = await classroom.call("POST", "/api/v1/classroom/sessions", school.teacher,
                                 json={"class_id": school.class_id})
    assert again.status_code == 409 and again.json()["code"] == "classroom.session_active"
    other = await classroom.call("POST", "/api/v1/classroom/sessions", school.teacher,
                                 json={"class_id": school.other_class})
    assert other.status_code == 404 and other.json()["code"] == "classroom.not_your_class"
    # An org admin runs any class of the org.
    await classroom.ok("POST", "/api/v1/classroom/sessions", school.admin, 201, json={"class_id": school.other_class})
    student = classroom.actor("student", school.org)
    denied = await classroom.call("POST", "/api/v1/classroom/sessions", student, json={"class_id": school.class_id})
    assert denied.status_code == 403


async def test_codes_stay_unique_under_concurrent_starts(classroom: ClassroomApp) -> None:
    """40 classes start at once: 40 distinct codes, each active session findable by its code."""
    school = await classroom.school()
    classes = [(await classroom.tenant_client.post("/api/v1/classes", headers=school.admin.headers,
                                                   json={"grade": 6, "name": f"6-{i}"})).json()["id"]
               for i in range(40)]
    started = await asyncio.gather(*(classroom.ok("POST", "/api/v1/classroom/sessions", school.admin, 201,
                                                  json={"class_id": c}) for c in classes))
    codes = [s["code"] for s in started]
    assert len(set(codes)) == 40
    rows = await classroom.db.sql("SELECT count(DISTINCT code) FROM classroom.sessions WHERE status = 'active'")
    assert rows[0][0] == 40
    found = await asyncio.gather(*(classroom.ok("GET", f"/api/v1/classroom/join/{c}") for c in codes[:5]))
    assert [f["code"] for f in found] == codes[:5]


async def test_extend_end_and_expiry(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await classroom.ok("POST", "/api/v1/classroom/sessions", school.teacher, 201, json={"class_id": school.class_id})
    longer = await classroom.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/extend", school.teacher,
                                json={"minutes": 15})
    assert dt.datetime.fromisoformat(longer["expires_at"]) == \
        dt.datetime.fromisoformat(s["expires_at"]) + dt.timedelta(minutes=15)
    statuses = [(await classroom.call("POST", f"/api/v1/classroom/sessions/{s['id']}/extend", school.teacher,
                                      json={"minutes": 60})).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 422]  # 45 + 3 x 60 = 225 min; another hour would pass 240
    # The clock runs out: the code answers 410 classroom.session_expired.
    await classroom.move_clock(s["id"], "expires_at = now() - interval '1 second', started_at = now() - interval '1 hour'")
    gone = await classroom.call("GET", f"/api/v1/classroom/join/{s['code']}")
    assert gone.status_code == 410 and gone.json()["code"] == "classroom.session_expired"
    joined = await classroom.call("POST", f"/api/v1/classroom/join/{s['code']}", json={"nickname": "A", "avatar": "a"})
    assert joined.status_code == 410
    # An expired session frees its class: a new one starts.
    s2 = await classroom.ok("POST", "/api/v1/classroom/sessions", school.teacher, 201,
                            json={"class_id": school.class_id})
    ended = await classroom.ok("POST", f"/api/v1/classroom/sessions/{s2['id']}/end", school.teacher)
    assert ended["status"] == "ended"
    late = await classroom.call("GET", f"/api/v1/classroom/join/{s2['code']}")
    assert late.status_code == 410 and late.json()["code"] == "classroom.session_ended"
    again = await classroom.call("POST", f"/api/v1/classroom/sessions/{s2['id']}/end", school.teacher)
    assert again.status_code == 410
    ended = [r[1] for r in await classroom.db.sql("SELECT event_type, payload FROM classroom.outbox ORDER BY id")
             if r[0] == "classroom.session.ended"]
    # The expired one (retired when the class's next session started) and the ended one, once each.
    reasons = {e["session_id"]: json_format.ParseDict(e, ClassroomSessionEnded()).reason for e in ended}
    assert len(ended) == 2 and reasons == {s["id"]: "expired", s2["id"]: "ended"}


async def test_unknown_code_is_404_and_other_zone_does_not_see_it(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    s = await classroom.ok("POST", "/api/v1/classroom/sessions", school.teacher, 201, json={"class_id": school.class_id})
    missing = await classroom.call("GET", "/api/v1/classroom/join/ZZZZ2222")
    assert missing.status_code == 404 and missing.json()["code"] == "classroom.session_not_found"
    elsewhere = await classroom.call("GET", f"/api/v1/classroom/join/{s['code']}", host=OTHER_ZONE_HOST)
    assert elsewhere.status_code == 404


async def test_another_org_cannot_see_or_end_a_session(classroom: ClassroomApp) -> None:
    school = await classroom.school()
    rival = await classroom.school(classroom.org_b)
    s = await classroom.ok("POST", "/api/v1/classroom/sessions", school.teacher, 201, json={"class_id": school.class_id})
    for who in (rival.teacher, rival.admin):
        for method, path in (("GET", f"/api/v1/classroom/sessions/{s['id']}"),
                             ("POST", f"/api/v1/classroom/sessions/{s['id']}/end"),
                             ("GET", f"/api/v1/classroom/sessions/{s['id']}/participants"),
                             ("PATCH", f"/api/v1/classroom/sessions/{s['id']}")):
            resp = await classroom.call(method, path, who, json={"locked": True} if method == "PATCH" else None)
            assert resp.status_code == 404, (who.role, method, path, resp.text)
        listed = await classroom.ok("GET", "/api/v1/classroom/sessions", who)
        assert s["id"] not in [x["id"] for x in listed["items"]]
    # A teacher of the same org not assigned to the class gets the same 404.
    stranger = classroom.actor("teacher", school.org)
    await classroom.db.sql("INSERT INTO tenant.memberships (zone_id, org_id, user_id, role) VALUES (1, :o, :u, 'teacher')",
                           o=school.org, u=stranger.user_id)
    resp = await classroom.call("GET", f"/api/v1/classroom/sessions/{s['id']}", stranger)
    assert resp.status_code == 404
    row = await classroom.db.sql("SELECT status FROM classroom.sessions WHERE id = CAST(:id AS uuid)", id=s["id"])
    assert row[0][0] == "active"
