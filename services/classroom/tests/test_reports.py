"""Session reports against the real service, PostgreSQL and Redis: numbers after a live card with
three participants (answered, correct, accuracy, misconceptions grouped as the checker reads
them, per participant and per card), the CSV (BOM, Korean, formula-injection guard), the xlsx read
back with openpyxl, and another org's teacher locked out."""
from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from openpyxl import load_workbook

from services.classroom.tests.conftest import ClassroomApp, School
from services.classroom.tests.live_helpers import join, problem, show, start


@pytest.fixture
async def app(classroom: ClassroomApp) -> ClassroomApp:
    return classroom


async def live_class(app: ClassroomApp, school: School) -> tuple[dict[str, Any], dict[str, dict[int, Any]]]:
    """A session with two cards: card 1 answered by all three (one right, two wrong answers that
    normalise to the same 1/3), card 2 by 민지 only (right); then ended. Returns the session and
    each nickname's acks by card."""
    s = await start(app, school, title="분수 복습")
    fractions = await problem(app, school.teacher, explanation="1/2 = 2/4")
    fruit = await problem(app, school.teacher, type="vocabulary", prompt="사과 in English?", answer="apple")
    names = ("민지", "=Ben", "Cho")
    players = {n: await join(app, s["code"], n) for n in names}
    acks: dict[str, dict[int, Any]] = {n: {} for n in names}
    async with app.socket(s["code"], players["민지"]["token"]) as c0, \
            app.socket(s["code"], players["=Ben"]["token"]) as c1, \
            app.socket(s["code"], players["Cho"]["token"]) as c2:
        clients = {"민지": c0, "=Ben": c1, "Cho": c2}
        for c in clients.values():
            await c.until("snapshot")
        await show(app, school, s, fractions["id"], seconds=60)
        for (name, c), given in zip(clients.items(), ("0.75", "2/6", " 1 / 3 "), strict=True):
            await c.until("card_shown")
            await c.send("answer", {"card_no": 1, "answer": given})
            acks[name][1] = (await c.until("answer_ack"))["data"]
        await show(app, school, s, fruit["id"], seconds=60)
        await c0.until("card_shown", card_no=2)
        await c0.send("answer", {"card_no": 2, "answer": "Apple"})
        acks["민지"][2] = (await c0.until("answer_ack"))["data"]
    await app.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/end", school.teacher)
    return s, acks


async def test_report_numbers_csv_and_xlsx(app: ClassroomApp) -> None:
    school = await app.school()
    s, acks = await live_class(app, school)
    base = f"/api/v1/classroom/sessions/{s['id']}"
    report = await app.ok("GET", f"{base}/report", school.teacher)

    summary = report["session"]
    assert summary["title"] == "분수 복습" and summary["code"] == s["code"] and summary["status"] == "ended"
    assert summary["class_id"] == school.class_id and summary["ended_at"] is not None
    assert summary["participants"] == {"live": 3, "homework": 0}
    assert (summary["cards"], summary["answers"], summary["correct"], summary["accuracy"]) == (2, 4, 2, 0.5)

    card1, card2 = report["cards"]
    assert card1["card_no"] == 1 and card1["problem"]["prompt"] == "1/2 + 1/4 = ?" and card1["problem"]["answer"] == "3/4"
    assert (card1["answered"], card1["correct"], card1["accuracy"]) == (3, 1, 0.3333)
    assert card1["misconceptions"] == [{"answer": "1/3", "count": 2}]  # "2/6" and " 1 / 3 " are one mistake
    assert (card2["answered"], card2["correct"], card2["accuracy"], card2["misconceptions"]) == (1, 1, 1.0, [])

    people = {p["nickname"]: p for p in report["participants"]}
    assert set(people) == {"민지", "=Ben", "Cho"} and report["participants"][0]["nickname"] == "민지"
    minji = people["민지"]
    assert minji["mode"] == "live" and minji["status"] == "active"
    assert (minji["answered"], minji["correct"]) == (2, 2)
    assert minji["score"] == acks["민지"][1]["points"] + acks["민지"][2]["points"] > 1000
    assert [(c["card_no"], c["answered"], c["correct"], c["points"]) for c in minji["per_card"]] == [
        (1, True, True, acks["민지"][1]["points"]), (2, True, True, acks["민지"][2]["points"])]
    assert minji["per_card"][0]["elapsed_ms"] == acks["민지"][1]["elapsed_ms"]
    ben = people["=Ben"]
    assert (ben["score"], ben["answered"], ben["correct"]) == (0, 1, 0)
    assert ben["per_card"] == [{"card_no": 1, "answered": True, "correct": False, "points": 0,
                                "elapsed_ms": acks["=Ben"][1]["elapsed_ms"]},
                               {"card_no": 2, "answered": False, "correct": None, "points": 0, "elapsed_ms": None}]

    got = await app.ok("GET", f"{base}/report.csv", school.teacher)
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"].startswith(f'attachment; filename="classroom-{s["code"]}-')
    assert got.headers["content-disposition"].endswith('.csv"')
    assert got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["nickname", "mode", "score", "answered", "correct", "card 1", "card 2"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["민지"] == ["민지", "live", str(minji["score"]), "2", "2", "✓", "✓"]
    assert by_name["'=Ben"] == ["'=Ben", "live", "0", "1", "0", "✗", ""]  # never a formula in Excel
    assert by_name["Cho"][5:] == ["✗", ""] and "=Ben" not in by_name

    got = await app.ok("GET", f"{base}/report.xlsx", school.teacher)
    assert got.headers["content-disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(got.content))
    assert book.sheetnames == ["Participants", "Cards"]
    sheet = [list(r) for r in book["Participants"].iter_rows(values_only=True)]
    assert sheet[0] == ["nickname", "mode", "score", "answered", "correct", "card 1", "card 2"]
    xl = {r[0]: r for r in sheet[1:]}
    assert xl["민지"][:5] == ["민지", "live", minji["score"], 2, 2] and xl["'=Ben"][5] == "✗"
    assert book["Participants"]["A1"].data_type == "s"
    cards = [list(r) for r in book["Cards"].iter_rows(values_only=True)]
    assert cards[0][:7] == ["card", "prompt", "answer", "answered", "correct", "accuracy", "misconception 1"]
    assert cards[1][:7] == [1, "1/2 + 1/4 = ?", "3/4", 3, 1, 0.3333, "1/3 (2)"]
    assert cards[2][:6] == [2, "사과 in English?", "apple", 1, 1, 1]


async def test_another_orgs_teacher_gets_404(app: ClassroomApp) -> None:
    school = await app.school()
    s = await start(app, school)
    other = await app.school(uuid.uuid4())
    for suffix in ("report", "report.csv", "report.xlsx"):
        resp = await app.call("GET", f"/api/v1/classroom/sessions/{s['id']}/{suffix}", other.teacher)
        assert resp.status_code == 404 and resp.json()["code"] == "classroom.session_not_found", suffix
    student = app.actor("student", school.org)
    denied = await app.call("GET", f"/api/v1/classroom/sessions/{s['id']}/report", student)
    assert denied.status_code == 403
    # An org admin reads any class's report; an empty session reports zeros.
    empty = await app.ok("GET", f"/api/v1/classroom/sessions/{s['id']}/report", school.admin)
    assert empty["session"]["answers"] == 0 and empty["session"]["accuracy"] is None and empty["cards"] == []
