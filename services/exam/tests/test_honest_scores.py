"""Honest scores (issue #13 point 5), through the real service, PostgreSQL and CAT:

- an adaptive attempt submitted — or timed out — before its exam's `min_items` ends
  `incomplete`: its result and report show θ and SE, `counted: false` and no percentile; it is
  not the student's latest score, and stays out of averages, percentile norm groups, the
  dashboard and item statistics; `exam.attempt.completed` carries the status;
- a percentile is null (`norm_group_too_small`) until the exam's norm group (counted attempts)
  reaches `EXAM_MIN_NORM_GROUP` (3 here), and shown from then on;
- a fixed form is never incomplete (unanswered items score 0);
- migration 0004: the status constraint, and a downgrade that turns `incomplete` back."""
from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from google.protobuf import json_format

from mcproto.events.v1.events_pb2 import ExamAttemptCompleted
from megacity.db import migrations
from megacity.testing import TestDatabase, TokenMint, run_service
from services.exam.scoring import closing_status, required_items
from services.exam.tests.conftest import Actor, CatServer, ExamApp, logistic_item, make_bank, make_exam

MIN_GROUP = 3
MIN_ITEMS = 4


@pytest.fixture
async def honest_app(test_db: TestDatabase, namespace: str, token_mint: TokenMint,
                     cat_server: CatServer) -> AsyncIterator[ExamApp]:
    """Exam with CAT and a norm-group minimum of 3."""
    async with run_service("exam", test_db, namespace, expiry_sweep_seconds=3600, grpc_deadline_seconds=3.0,
                           grpc_peers={"cat": cat_server.target}, min_norm_group=MIN_GROUP) as rt:
        token_mint.install(rt.app)
        cat_server.clients.append(rt)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=30) as client:
            yield ExamApp(rt, client, token_mint, test_db)
        cat_server.clients.remove(rt)


@pytest.fixture
async def fixed_app(test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> AsyncIterator[ExamApp]:
    """Exam without CAT and a norm-group minimum of 3."""
    async with run_service("exam", test_db, namespace, expiry_sweep_seconds=3600, min_norm_group=MIN_GROUP) as rt:
        token_mint.install(rt.app)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=20) as client:
            yield ExamApp(rt, client, token_mint, test_db)


async def _adaptive_exam(app: ExamApp, teacher: Actor) -> tuple[dict, dict[str, dict]]:
    bank = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Honest"})
    items: dict[str, dict] = {}
    for k in range(12):
        body = {"bank_id": bank["id"], **logistic_item(f"H{k:03d}", -2.0 + 4.0 * k / 11, a=0.8 + (k % 5) * 0.3)}
        item = await app.ok("POST", "/api/v1/items", teacher, 201, json=body)
        items[item["id"]] = item
    exam = await app.ok("POST", "/api/v1/exams", teacher, 201, json={
        "title": "Placement", "kind": "adaptive", "item_bank_id": bank["id"], "time_limit_seconds": 1800,
        "cat_settings": {"min_items": MIN_ITEMS, "max_items": MIN_ITEMS}})
    return await app.ok("POST", f"/api/v1/exams/{exam['id']}/publish", teacher), items


async def _take(app: ExamApp, student: Actor, exam_id: str, items: dict[str, dict], n: int | None,
                right: bool = True) -> dict:
    """Answer `n` items (None: until CAT stops the test), then submit if still in progress."""
    att = await app.ok("POST", f"/api/v1/exams/{exam_id}/start", student, 201)
    current, given = att["current_item"], 0
    while current is not None and (n is None or given < n):
        ack = await app.ok("POST", f"/api/v1/attempts/{att['id']}/responses", student, 201,
                           json={"item_id": current["id"], "answer": "B" if right or given % 2 else "C"})
        current, given = ack["next_item"], given + 1
    return await app.ok("POST", f"/api/v1/attempts/{att['id']}/submit", student)


def _completed_events(app: ExamApp) -> dict[str, dict[str, Any]]:
    with psycopg.connect(app.db.admin_url) as conn:
        rows = conn.execute("SELECT payload FROM exam.outbox WHERE event_type = 'exam.attempt.completed'").fetchall()
    docs = [p if isinstance(p, dict) else json.loads(p) for (p,) in rows]
    return {d["attempt_id"]: d for d in docs}


def _pct(theta: float, group: list[float]) -> float:
    return round(100.0 * (sum(t < theta for t in group) + 0.5 * sum(t == theta for t in group)) / len(group), 1)


async def test_early_adaptive_submit_is_incomplete_and_never_counted(honest_app: ExamApp) -> None:
    app = honest_app
    teacher, s1, s2, s3, s4 = (app.actor(r) for r in ("teacher", "student", "student", "student", "student"))
    exam, items = await _adaptive_exam(app, teacher)

    full = await _take(app, s1, exam["id"], items, None)
    assert full["status"] == "completed" and full["answered"] == MIN_ITEMS
    first = full["result"]
    assert first["counted"] is True and first["required_items"] == MIN_ITEMS and first["stop_reason"] == "max_items"
    assert (first["percentile"], first["percentile_unavailable"], first["norm_group_size"]) == \
        (None, "norm_group_too_small", 1)

    # The same student retakes it and submits after one item: incomplete, with θ and a wide SE.
    early = await _take(app, s1, exam["id"], items, 1, right=False)
    assert early["status"] == "incomplete" and early["answered"] == 1
    res = early["result"]
    assert res["stop_reason"] == "submitted" and res["counted"] is False and res["required_items"] == MIN_ITEMS
    assert -4 < res["theta"] < 4 and res["se"] > first["se"] > 0
    assert (res["percentile"], res["percentile_unavailable"], res["norm_group_size"]) == \
        (None, "attempt_incomplete", 1)  # the norm group is the one complete attempt, not two
    assert (await app.ok("POST", f"/api/v1/attempts/{early['id']}/submit", s1))["result"] == res  # idempotent

    # Submitting before the first answer is incomplete too.
    empty = await _take(app, s4, exam["id"], items, 0)
    assert empty["status"] == "incomplete" and empty["answered"] == 0 and empty["result"]["counted"] is False

    events = _completed_events(app)
    assert (events[early["id"]]["status"], events[early["id"]]["counted"]) == ("incomplete", False)
    assert (events[full["id"]]["status"], events[full["id"]]["counted"]) == ("completed", True)
    assert events[early["id"]]["required_items"] == MIN_ITEMS and events[early["id"]]["se"] == res["se"]
    for doc in events.values():  # the payload is what protos/mcproto/events documents, field for field
        json_format.ParseDict(doc, ExamAttemptCompleted())

    # The report lists the incomplete attempt as such, but its summary is the complete one's.
    report = await app.ok("GET", f"/api/v1/students/{s1.user_id}/reports", app.actor("org_admin"))
    rows = {a["attempt_id"]: a for a in report["attempts"]}
    assert [a["attempt_id"] for a in report["attempts"]] == [early["id"], full["id"]]
    assert rows[early["id"]]["status"] == "incomplete" and rows[early["id"]]["counted"] is False
    assert (rows[early["id"]]["theta"], rows[early["id"]]["se"]) == (res["theta"], res["se"])
    assert rows[early["id"]]["percentile_unavailable"] == "attempt_incomplete"
    assert rows[full["id"]]["counted"] is True
    assert report["summary"] == {"attempts": 2, "completed": 1, "incomplete": 1, "in_progress": 0,
                                 "mean_theta": round(first["theta"], 4),
                                 "latest_scaled_score": first["scaled_score"]}
    assert sum(a["responses"] for a in report["content_areas"]) == MIN_ITEMS  # the early answer is not in it

    # Two more complete attempts: the norm group reaches 3 and percentiles appear.
    second = (await _take(app, s2, exam["id"], items, None, right=False))["result"]
    assert (second["percentile"], second["norm_group_size"]) == (None, 2)
    third = (await _take(app, s3, exam["id"], items, None))["result"]
    group = [first["theta"], second["theta"], third["theta"]]
    assert (third["percentile"], third["percentile_unavailable"], third["norm_group_size"]) == \
        (_pct(third["theta"], group), None, 3)
    again = (await app.ok("GET", f"/api/v1/attempts/{full['id']}", s1))["result"]
    assert (again["percentile"], again["norm_group_size"]) == (_pct(first["theta"], group), 3)
    still = (await app.ok("GET", f"/api/v1/attempts/{early['id']}", s1))["result"]
    assert (still["percentile"], still["percentile_unavailable"], still["norm_group_size"]) == \
        (None, "attempt_incomplete", 3)
    report = await app.ok("GET", f"/api/v1/students/{s1.user_id}/reports", s1)
    assert {a["attempt_id"]: a["percentile"] for a in report["attempts"]} == \
        {early["id"]: None, full["id"]: _pct(first["theta"], group)}

    # The dashboard counts the incomplete attempts apart and leaves them out of every mean.
    # (An org admin: the exam is set for no class; a teacher sees only its classes' attempts.)
    dash = await app.ok("GET", f"/api/v1/analytics/dashboard?exam_id={exam['id']}", app.actor("org_admin"))
    totals = dash["totals"]
    assert (totals["attempts"], totals["completed"], totals["incomplete"], totals["in_progress"]) == (5, 3, 2, 0)
    assert totals["mean_theta"] == round(sum(group) / 3, 4)
    assert (dash["exams"][0]["scored"], dash["exams"][0]["incomplete"]) == (3, 2)
    assert dash["classes"][0]["scored"] == 3 and dash["classes"][0]["mean_theta"] == totals["mean_theta"]
    assert sum(i["responses"] for i in dash["items"]) == 3 * MIN_ITEMS
    b_dash = await app.ok("GET", "/api/v1/analytics/dashboard", app.actor("org_admin", app.org_b))
    assert b_dash["totals"]["attempts"] == 0 and b_dash["totals"]["incomplete"] == 0


async def test_adaptive_attempt_timed_out_before_min_items_is_incomplete(honest_app: ExamApp) -> None:
    app = honest_app
    teacher, student = app.actor("teacher"), app.actor("student")
    exam, items = await _adaptive_exam(app, teacher)
    att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    await app.ok("POST", f"/api/v1/attempts/{att['id']}/responses", student, 201,
                 json={"item_id": att["current_item"]["id"], "answer": "B"})
    with psycopg.connect(app.db.admin_url, autocommit=True) as conn:
        conn.execute("UPDATE exam.attempts SET deadline_at = now() - interval '10 seconds' WHERE id = %s", (att["id"],))
    got = await app.ok("GET", f"/api/v1/attempts/{att['id']}", student)
    assert got["status"] == "incomplete" and got["answered"] == 1
    assert got["result"]["stop_reason"] == "expired" and got["result"]["counted"] is False
    assert got["ended_at"] <= got["deadline_at"]
    assert _completed_events(app)[att["id"]]["status"] == "incomplete"
    report = await app.ok("GET", f"/api/v1/students/{student.user_id}/reports", student)
    assert report["summary"]["latest_scaled_score"] is None and report["summary"]["mean_theta"] is None
    assert report["attempts"][0]["se"] == got["result"]["se"] and report["content_areas"] == []


async def test_percentile_hidden_below_the_norm_group_minimum(fixed_app: ExamApp) -> None:
    """A fixed form: never incomplete (even with nothing answered); its percentile appears once
    the norm group has 3 counted attempts, and follows the group from then on."""
    app = fixed_app
    teacher, admin = app.actor("teacher"), app.actor("org_admin")  # (teachers' reports: test_teacher_scope)
    bank, items = await make_bank(app, teacher, 3)
    exam = await make_exam(app, teacher, bank, items=items)
    results = []
    for right in (0, 1, 3):
        student = app.actor("student")
        att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
        for item in items[:right]:
            await app.ok("POST", f"/api/v1/attempts/{att['id']}/responses", student, 201,
                         json={"item_id": item["id"], "answer": "B"})
        done = await app.ok("POST", f"/api/v1/attempts/{att['id']}/submit", student)
        assert done["status"] == "completed" and done["result"]["counted"] is True
        assert done["result"]["required_items"] == 0
        results.append((att["id"], student, done["result"]))
    (_, _, r0), (_, _, r1), (last_id, last, r2) = results
    assert (r0["percentile"], r0["percentile_unavailable"], r0["norm_group_size"]) == (None, "norm_group_too_small", 1)
    assert (r1["percentile"], r1["percentile_unavailable"], r1["norm_group_size"]) == (None, "norm_group_too_small", 2)
    assert r0["theta"] < r1["theta"] < r2["theta"]
    assert (r2["percentile"], r2["percentile_unavailable"], r2["norm_group_size"]) == (83.3, None, 3)
    first_id, first_student, _ = results[0]
    assert (await app.ok("GET", f"/api/v1/attempts/{first_id}", first_student))["result"]["percentile"] == 16.7
    row = (await app.ok("GET", f"/api/v1/students/{last.user_id}/reports", admin))["attempts"][0]
    assert (row["attempt_id"], row["percentile"], row["norm_group_size"], row["counted"]) == (last_id, 83.3, 3, True)

    # In progress: no θ, no percentile, and why.
    pending = app.actor("student")
    await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", pending, 201)
    row = (await app.ok("GET", f"/api/v1/students/{pending.user_id}/reports", admin))["attempts"][0]
    assert (row["theta"], row["percentile"], row["percentile_unavailable"], row["counted"]) == \
        (None, None, "in_progress", False)


def test_closing_status_rule() -> None:
    adaptive = {"min_items": 5, "max_items": 10}
    assert required_items("adaptive", adaptive) == 5 and required_items("adaptive", json.dumps(adaptive)) == 5
    assert required_items("adaptive", {}) == 1 and required_items("adaptive", {"min_items": 0}) == 1
    assert required_items("fixed", None) == 0
    assert closing_status("adaptive", adaptive, 4, "submitted", expired=False) == "incomplete"
    assert closing_status("adaptive", adaptive, 4, "expired", expired=True) == "incomplete"
    assert closing_status("adaptive", adaptive, 5, "submitted", expired=False) == "completed"
    assert closing_status("adaptive", adaptive, 5, "expired", expired=True) == "expired"
    # CAT's own rule ended it (e.g. the bank ran out): as long as the test could be.
    assert closing_status("adaptive", adaptive, 3, "bank_exhausted", expired=False) == "completed"
    assert closing_status("fixed", None, 0, "submitted", expired=False) == "completed"


async def test_migration_0004_status_and_downgrade(fixed_app: ExamApp) -> None:
    app = fixed_app
    teacher, student = app.actor("teacher"), app.actor("student")
    bank, items = await make_bank(app, teacher, 2)
    exam = await make_exam(app, teacher, bank, items=items)
    ids = []
    for _ in range(2):
        att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
        await app.ok("POST", f"/api/v1/attempts/{att['id']}/submit", student)
        ids.append(uuid.UUID(att["id"]))
    with psycopg.connect(app.db.admin_url, autocommit=True) as conn:
        conn.execute("UPDATE exam.attempts SET status = 'incomplete', stop_reason = CASE WHEN id = %s"
                     " THEN 'expired' ELSE 'submitted' END", (ids[0],))
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE exam.attempts SET status = 'abandoned' WHERE id = %s", (ids[0],))
    owner = app.db.owner_url("exam")
    migrations.downgrade("exam", owner, "0003")
    try:
        with psycopg.connect(app.db.admin_url, autocommit=True) as conn:
            got = dict(conn.execute("SELECT id, status FROM exam.attempts").fetchall())
            assert got == {ids[0]: "expired", ids[1]: "completed"}
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute("UPDATE exam.attempts SET status = 'incomplete' WHERE id = %s", (ids[0],))
            forced = conn.execute("SELECT relforcerowsecurity FROM pg_class WHERE oid = 'exam.attempts'::regclass")
            assert forced.fetchone() == (True,)
    finally:
        migrations.upgrade("exam", owner)
    with psycopg.connect(app.db.admin_url, autocommit=True) as conn:
        conn.execute("UPDATE exam.attempts SET status = 'incomplete' WHERE id = %s", (ids[0],))
        # Every partition carries the parent's constraint.
        defs = conn.execute("SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_inherits i"
                            " ON i.inhrelid = c.conrelid WHERE i.inhparent = 'exam.attempts'::regclass"
                            " AND c.conname = 'attempts_status_check'").fetchall()
        assert defs and all("incomplete" in d for (d,) in defs)
