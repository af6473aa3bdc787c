"""Fixed-form attempts end to end over HTTP: start, resume, answer (validation, idempotency,
conflicts), submit and scoring (EAP, scaled score, percentile), the server-enforced time limit,
the background expiry sweep, and one active attempt per student and exam."""
from __future__ import annotations

import asyncio
import json

import psycopg
import pytest

from megacity.irt import ItemParams, eap
from services.exam.maintenance import expire_overdue
from services.exam.tests.conftest import ExamApp, make_bank, make_exam


def _events(app: ExamApp, event_type: str) -> list[dict]:
    with psycopg.connect(app.db.admin_url) as conn:
        rows = conn.execute("SELECT payload FROM exam.outbox WHERE event_type = %s ORDER BY id", (event_type,)).fetchall()
    return [p if isinstance(p, dict) else json.loads(p) for (p,) in rows]


def _expect_theta(items: list[dict], scores: list[int]) -> float:
    return eap([ItemParams("logistic", i["a"], i["b"], i["c"], i["d"]) for i in items], scores).theta


async def test_fixed_exam_end_to_end(exam_app: ExamApp) -> None:
    app = exam_app
    teacher, student, other = app.actor("teacher"), app.actor("student"), app.actor("student")
    bank, items = await make_bank(app, teacher, 4)
    form = items[:3]
    exam = await make_exam(app, teacher, bank, items=form, time_limit_seconds=900)

    att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    assert att["status"] == "in_progress" and att["kind"] == "fixed" and att["answered"] == 0
    assert att["current_item"]["id"] == form[0]["id"] and "answer_key" not in att["current_item"]
    assert att["pending_item_ids"] == [i["id"] for i in form] and 890 < att["remaining_seconds"] <= 900
    again = await app.call("POST", f"/api/v1/exams/{exam['id']}/start", student)
    assert again.status_code == 409 and again.json()["code"] == "attempt.already_active"
    assert again.json()["attempt_id"] == att["id"]
    path = f"/api/v1/attempts/{att['id']}"
    assert (await app.ok("GET", path, student))["current_item"]["id"] == form[0]["id"]

    ack = await app.ok("POST", f"{path}/responses", student, 201, json={"item_id": form[0]["id"], "answer": "B"})
    assert ack["stored"] and not ack["replayed"] and ack["answered"] == 1 and ack["next_item"]["id"] == form[1]["id"]
    for body, status, code in [
        ({"item_id": form[1]["id"], "answer": "Z"}, 422, "response.invalid_answer"),
        ({"item_id": form[0]["id"], "answer": "C"}, 409, "attempt.response_conflict"),
        ({"item_id": items[3]["id"], "answer": "B"}, 409, "attempt.item_not_current"),
    ]:
        resp = await app.call("POST", f"{path}/responses", student, json=body)
        assert resp.status_code == status and resp.json()["code"] == code, resp.text
    replay = await app.ok("POST", f"{path}/responses", student, 201, json={"item_id": form[0]["id"], "answer": "B"})
    assert replay["replayed"] and replay["answered"] == 1
    resp = await app.call("POST", f"{path}/responses", other, json={"item_id": form[1]["id"], "answer": "A"})
    assert resp.status_code == 404 and resp.json()["code"] == "attempt.not_found"
    await app.ok("POST", f"{path}/responses", student, 201, json={"item_id": form[1]["id"], "answer": "A"})

    done = await app.ok("POST", f"{path}/submit", student)
    assert done["status"] == "completed" and done["current_item"] is None
    result = done["result"]
    theta = _expect_theta(form, [1, 0, 0])  # the unanswered third item counts 0
    assert result["theta"] == pytest.approx(theta, abs=1e-9) and result["estimator"] == "eap"
    assert result["scaled_score"] == pytest.approx(round(500 + 100 * theta, 1))
    assert (result["raw_score"], result["max_score"]) == (1, 2)
    # One attempt is no norm group (EXAM_MIN_NORM_GROUP, default 30): no percentile, and why.
    assert (result["percentile"], result["percentile_unavailable"], result["norm_group_size"]) == \
        (None, "norm_group_too_small", 1)
    assert result["counted"] is True and result["required_items"] == 0
    assert (await app.ok("POST", f"{path}/submit", student))["result"] == result  # idempotent
    resp = await app.call("POST", f"{path}/responses", student, json={"item_id": form[2]["id"], "answer": "B"})
    assert resp.status_code == 409 and resp.json()["code"] == "attempt.not_in_progress"

    # A second, stronger student: the norm group grows (percentiles: test_honest_scores).
    att2 = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", other, 201)
    for item in form:
        await app.ok("POST", f"/api/v1/attempts/{att2['id']}/responses", other, 201,
                     json={"item_id": item["id"], "answer": "B"})
    r2 = (await app.ok("POST", f"/api/v1/attempts/{att2['id']}/submit", other))["result"]
    assert r2["theta"] > result["theta"] and r2["raw_score"] == 3
    assert (r2["percentile"], r2["norm_group_size"]) == (None, 2)
    assert (await app.ok("GET", path, student))["result"]["norm_group_size"] == 2

    # Who may read an attempt: the student, the org's admins (teachers: their classes' students,
    # test_teacher_scope.py); not another student, not org B.
    assert (await app.ok("GET", path, app.actor("org_admin")))["result"]["theta"] == result["theta"]
    for who in (other, app.actor("teacher", app.org_b), app.actor("student", app.org_b)):
        resp = await app.call("GET", path, who)
        assert resp.status_code == 404, resp.text

    started, completed = _events(app, "exam.attempt.started"), _events(app, "exam.attempt.completed")
    assert [e["attempt_id"] for e in started] == [att["id"], att2["id"]]
    assert [e["attempt_id"] for e in completed] == [att["id"], att2["id"]]
    assert completed[0]["theta"] == pytest.approx(theta) and completed[0]["status"] == "completed"


def _backdate(app: ExamApp, attempt_id: str) -> None:
    with psycopg.connect(app.db.admin_url, autocommit=True) as conn:
        conn.execute("UPDATE exam.attempts SET deadline_at = now() - interval '10 seconds' WHERE id = %s", (attempt_id,))
        conn.execute("UPDATE exam.active_attempts SET deadline_at = now() - interval '10 seconds'"
                     " WHERE attempt_id = %s", (attempt_id,))


async def test_time_limit_is_enforced_by_the_server(exam_app: ExamApp) -> None:
    app = exam_app
    teacher, student = app.actor("teacher"), app.actor("student")
    bank, items = await make_bank(app, teacher, 3)
    exam = await make_exam(app, teacher, bank, items=items, time_limit_seconds=60)
    att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    await app.ok("POST", f"/api/v1/attempts/{att['id']}/responses", student, 201,
                 json={"item_id": items[0]["id"], "answer": "B"})
    _backdate(app, att["id"])  # the time limit ran out
    resp = await app.call("POST", f"/api/v1/attempts/{att['id']}/responses", student,
                          json={"item_id": items[1]["id"], "answer": "B"})
    assert resp.status_code == 409 and resp.json()["code"] == "attempt.time_expired"
    got = await app.ok("GET", f"/api/v1/attempts/{att['id']}", student)
    assert got["status"] == "expired" and got["answered"] == 1 and got["result"]["raw_score"] == 1
    assert got["ended_at"] <= got["deadline_at"]
    # The active slot is free again: a new attempt can start.
    att2 = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    assert att2["id"] != att["id"]

    # Nobody comes back: the sweep scores it; an expired active attempt does not block a start.
    _backdate(app, att2["id"])
    assert await expire_overdue(app.runtime.resources) == 1
    assert (await app.ok("GET", f"/api/v1/attempts/{att2['id']}", student))["status"] == "expired"
    att3 = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    _backdate(app, att3["id"])
    att4 = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    assert (await app.ok("GET", f"/api/v1/attempts/{att3['id']}", student))["status"] == "expired"
    assert att4["status"] == "in_progress"
    assert [e["status"] for e in _events(app, "exam.attempt.completed")] == ["expired"] * 3


async def test_one_active_attempt_per_student_and_exam(exam_app: ExamApp) -> None:
    app = exam_app
    teacher, student = app.actor("teacher"), app.actor("student")
    bank, items = await make_bank(app, teacher, 2)
    exam = await make_exam(app, teacher, bank, items=items, max_attempts=2)
    results = await asyncio.gather(*(app.call("POST", f"/api/v1/exams/{exam['id']}/start", student)
                                     for _ in range(6)))
    created = [r for r in results if r.status_code == 201]
    assert len(created) == 1, [r.status_code for r in results]
    assert {r.json()["attempt_id"] for r in results if r.status_code == 409} == {created[0].json()["id"]}
    with psycopg.connect(app.db.admin_url) as conn:
        assert conn.execute("SELECT count(*) FROM exam.attempts").fetchone()[0] == 1
    # Another student is not blocked; after submitting, a retake is allowed up to max_attempts.
    await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", app.actor("student"), 201)
    await app.ok("POST", f"/api/v1/attempts/{created[0].json()['id']}/submit", student)
    second = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    await app.ok("POST", f"/api/v1/attempts/{second['id']}/submit", student)
    resp = await app.call("POST", f"/api/v1/exams/{exam['id']}/start", student)
    assert resp.status_code == 409 and resp.json()["code"] == "attempt.limit_reached"
