"""Homework against the real service, PostgreSQL and Redis: opening needs a card, a second code
joined after the live session ended, the cards listed without their answers, every card answered
once (duplicates refused), the report showing the homework participant, a live token refused, and
closed homework answering 410 (then 404 once the code is withdrawn)."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from services.classroom.sessions.codes import ALPHABET
from services.classroom.tests.conftest import ClassroomApp
from services.classroom.tests.live_helpers import join, problem, show, start

CODE = re.compile(f"^[{ALPHABET}]{{8}}$")


@pytest.fixture
async def app(classroom: ClassroomApp) -> ClassroomApp:
    return classroom


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_homework_after_the_live_session(app: ClassroomApp) -> None:
    school = await app.school()
    s = await start(app, school, title="Fractions")
    assert (s["homework_code"], s["homework_until"]) == (None, None)
    hw = f"/api/v1/classroom/sessions/{s['id']}/homework"
    empty = await app.call("POST", hw, school.teacher, json={"days": 7})
    assert empty.status_code == 409 and empty.json()["code"] == "classroom.homework_no_cards"
    bad = await app.call("POST", hw, school.teacher, json={"days": 31})
    assert bad.status_code == 422

    fractions = await problem(app, school.teacher, explanation="1/2 = 2/4")
    fruit = await problem(app, school.teacher, type="vocabulary", prompt="Which is a fruit?", answer="apple",
                          choices=["desk", "apple", "car"])
    ann = await join(app, s["code"], "Ann")
    async with app.socket(s["code"], ann["token"]) as c:
        await c.until("snapshot")
        await show(app, school, s, fractions["id"], seconds=60)
        await c.until("card_shown")
        await c.send("answer", {"card_no": 1, "answer": "3/4"})
        assert (await c.until("answer_ack"))["data"]["correct"] is True
        await show(app, school, s, fruit["id"], seconds=60)
    await app.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/end", school.teacher)

    opened = await app.ok("POST", hw, school.teacher, json={"days": 7})
    code = opened["code"]
    assert CODE.match(code) and code != s["code"]
    assert opened["join_url"] == f"https://app.univprepai.com/homework/{code}"
    again = await app.ok("POST", hw, school.teacher, json={"days": 3})  # reopening keeps the code
    assert again["code"] == code
    assert dt.datetime.fromisoformat(again["until"]) < dt.datetime.fromisoformat(opened["until"])
    # The teacher's session answers name the open homework (a console reopened later shows it).
    session = await app.ok("GET", f"/api/v1/classroom/sessions/{s['id']}", school.teacher)
    assert (session["homework_code"], session["homework_until"]) == (code, again["until"])
    listed_sessions = await app.ok("GET", "/api/v1/classroom/sessions", school.teacher)
    assert [(x["homework_code"], x["homework_until"]) for x in listed_sessions["items"] if x["id"] == s["id"]] == [
        (code, again["until"])]

    info = await app.ok("GET", f"/api/v1/classroom/homework/{code[:4].lower()}-{code[4:].lower()}")
    assert info == {"code": code, "title": "Fractions", "cards": 2, "until": again["until"]}
    unknown = await app.call("GET", "/api/v1/classroom/homework/ABCDEFGH")
    assert unknown.status_code == 404 and unknown.json()["code"] == "classroom.homework_not_found"
    live_code = await app.call("GET", f"/api/v1/classroom/homework/{s['code']}")
    assert live_code.status_code == 404  # the live code is not a homework code

    taken = await app.call("POST", f"/api/v1/classroom/homework/{code}/join", json={"nickname": "ANN", "avatar": "x"})
    assert taken.status_code == 409 and taken.json()["code"] == "classroom.nickname_taken"
    rude = await app.call("POST", f"/api/v1/classroom/homework/{code}/join",
                          json={"nickname": "f u c k", "avatar": "x"})
    assert rude.status_code == 422 and rude.json()["code"] == "classroom.nickname_rejected"
    dana = await app.ok("POST", f"/api/v1/classroom/homework/{code}/join", None, 201,
                        json={"nickname": "다나", "avatar": "owl"})
    assert dana["nickname"] == "다나" and dana["cards"] == 2 and dana["until"] == again["until"]
    token = bearer(dana["token"])

    listed = await app.ok("GET", "/api/v1/classroom/homework/cards", None, headers=token)
    assert listed["title"] == "Fractions" and [c["card_no"] for c in listed["items"]] == [1, 2]
    first, second = listed["items"]
    assert first["problem"] == {"type": "math", "prompt": "1/2 + 1/4 = ?", "choices": None, "read_aloud": False}
    assert second["problem"]["choices"] == ["desk", "apple", "car"]
    assert all(c["answered"] is False and c["correct"] is None for c in listed["items"])
    assert "3/4" not in str(listed) and "explanation" not in str(listed)  # no answers leak

    right = await app.ok("POST", "/api/v1/classroom/homework/cards/1/answer", None, headers=token,
                         json={"answer": "0.75"})
    assert right == {"card_no": 1, "correct": True, "points": 1000, "answer": "3/4", "explanation": "1/2 = 2/4",
                     "mode": "homework"}
    twice = await app.call("POST", "/api/v1/classroom/homework/cards/1/answer", headers=token, json={"answer": "3/4"})
    assert twice.status_code == 409 and twice.json()["code"] == "classroom.already_answered"
    wrong = await app.ok("POST", "/api/v1/classroom/homework/cards/2/answer", None, headers=token,
                         json={"answer": "A"})  # the letter names "desk"
    assert (wrong["correct"], wrong["points"], wrong["answer"]) == (False, 0, "apple")
    missing = await app.call("POST", "/api/v1/classroom/homework/cards/3/answer", headers=token, json={"answer": "x"})
    assert missing.status_code == 404 and missing.json()["code"] == "classroom.card_not_found"
    listed = await app.ok("GET", "/api/v1/classroom/homework/cards", None, headers=token)
    assert [(c["answered"], c["correct"]) for c in listed["items"]] == [(True, True), (True, False)]

    # A live participant's token is refused; a homework participant is not on the live leaderboard.
    for method, path, body in (("GET", "/api/v1/classroom/homework/cards", None),
                               ("POST", "/api/v1/classroom/homework/cards/2/answer", {"answer": "apple"})):
        refused = await app.call(method, path, headers=bearer(ann["token"]), json=body)
        assert refused.status_code == 403 and refused.json()["code"] == "classroom.homework_only"
    me = await app.ok("GET", "/api/v1/classroom/participants/me", None, headers=token)
    assert me["mode"] == "homework" and me["score"] == 0 and me["rank"] is None
    assert "homework_code" not in me and code not in str(me)  # the session's settings are staff-only
    assert (await app.call("GET", "/api/v1/classroom/homework/cards")).status_code == 401

    report = await app.ok("GET", f"/api/v1/classroom/sessions/{s['id']}/report", school.teacher)
    assert report["session"]["participants"] == {"live": 1, "homework": 1}
    people = {p["nickname"]: p for p in report["participants"]}
    assert people["다나"]["mode"] == "homework" and people["다나"]["score"] == 1000
    assert [(c["answered"], c["correct"], c["elapsed_ms"]) for c in people["다나"]["per_card"]] == [
        (True, True, 0), (True, False, 0)]
    assert people["Ann"]["mode"] == "live"
    assert [(c["answered"], c["correct"]) for c in report["cards"]] == [(2, 2), (1, 0)]
    assert report["cards"][1]["misconceptions"] == [{"answer": "desk", "count": 1}]
    events = await app.db.sql("SELECT payload->>'mode' FROM classroom.outbox"
                              " WHERE event_type = 'classroom.answer.recorded' ORDER BY id")
    assert sorted(e[0] for e in events) == ["homework", "homework", "live"]

    # The end passes: 410 for the page, the join and the token; withdrawn: 404.
    await app.db.sql("UPDATE classroom.sessions SET homework_until = now() - interval '1 minute' WHERE id = :id",
                     id=uuid.UUID(s["id"]))
    for method, path, body, headers in (
            ("GET", f"/api/v1/classroom/homework/{code}", None, {}),
            ("POST", f"/api/v1/classroom/homework/{code}/join", {"nickname": "Eve", "avatar": "x"}, {}),
            ("GET", "/api/v1/classroom/homework/cards", None, token)):
        closed = await app.call(method, path, headers=headers, json=body)
        assert closed.status_code == 410 and closed.json()["code"] == "classroom.homework_closed", path
    past = await app.ok("GET", f"/api/v1/classroom/sessions/{s['id']}", school.teacher)
    assert (past["homework_code"], past["homework_until"]) == (None, None)  # past its end: not open
    await app.ok("DELETE", hw, school.teacher, 204)
    closed_session = await app.ok("GET", f"/api/v1/classroom/sessions/{s['id']}", school.teacher)
    assert (closed_session["homework_code"], closed_session["homework_until"]) == (None, None)
    gone = await app.call("GET", f"/api/v1/classroom/homework/{code}")
    assert gone.status_code == 404
    row = await app.db.sql("SELECT homework_code, homework_until FROM classroom.sessions WHERE id = :id",
                           id=uuid.UUID(s["id"]))
    assert tuple(row[0]) == (None, None)


async def test_homework_during_the_session_and_isolation(app: ClassroomApp) -> None:
    school = await app.school()
    s = await start(app, school)
    p = await problem(app, school.teacher)
    await show(app, school, s, p["id"], seconds=60)
    await app.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/cards/current/close", school.teacher)
    hw = f"/api/v1/classroom/sessions/{s['id']}/homework"
    other = await app.school(uuid.uuid4())
    for method in ("POST", "DELETE"):
        resp = await app.call(method, hw, other.teacher, json={"days": 1} if method == "POST" else None)
        assert resp.status_code == 404 and resp.json()["code"] == "classroom.session_not_found"
    opened = await app.ok("POST", hw, school.admin, json={"days": 1})
    dana = await app.ok("POST", f"/api/v1/classroom/homework/{opened['code']}/join", None, 201,
                        json={"nickname": "Dana", "avatar": "owl"})
    got = await app.ok("POST", "/api/v1/classroom/homework/cards/1/answer", None, headers=bearer(dana["token"]),
                       json={"answer": "3/4"})
    assert got["correct"] is True and got["points"] == 1000
    # The live tally never counted it; the database has it, as homework.
    tally = await app.ok("GET", f"/api/v1/classroom/sessions/{s['id']}/cards/1/tally", school.teacher)
    assert tally["answered"] == 0 and tally["stored"]["answered"] == 0  # the live card's counts, live answers only
    stored = await app.db.sql("SELECT mode, count(*) FROM classroom.answers GROUP BY mode")
    assert [tuple(r) for r in stored] == [("homework", 1)]
    # Another zone's host does not resolve this zone's homework code.
    elsewhere = await app.call("GET", f"/api/v1/classroom/homework/{opened['code']}", host="api.collegeprepai.com")
    assert elsewhere.status_code == 404
    # A homework seat does not open the live session.
    async with app.socket(s["code"], dana["token"]) as live:
        assert (await live.until("error"))["data"]["code"] == "classroom.live_only"


async def test_the_card_on_show_is_not_homework(app: ClassroomApp) -> None:
    """While the class answers a card live, homework neither lists it nor takes answers to it
    (the reply names the right answer: it would leak)."""
    school = await app.school()
    s = await start(app, school)
    first = await problem(app, school.teacher)
    second = await problem(app, school.teacher, prompt="2 + 2 = ?", answer="4")
    await show(app, school, s, first["id"])
    await show(app, school, s, second["id"])  # card 1 closed, card 2 on show
    opened = await app.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/homework", school.teacher, json={"days": 1})
    eve = await app.ok("POST", f"/api/v1/classroom/homework/{opened['code']}/join", None, 201,
                       json={"nickname": "Eve", "avatar": "owl"})
    listed = await app.ok("GET", "/api/v1/classroom/homework/cards", None, headers=bearer(eve["token"]))
    assert [c["card_no"] for c in listed["items"]] == [1]
    live = await app.call("POST", "/api/v1/classroom/homework/cards/2/answer", headers=bearer(eve["token"]),
                          json={"answer": "5"})
    assert live.status_code == 404 and live.json()["code"] == "classroom.card_not_found"
