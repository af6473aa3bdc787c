"""The attempt rules called as `services.exam.attempts.service` functions, without HTTP, against
the real PostgreSQL, Redis, NATS (the running exam service's Resources) and, for adaptive
exams, the real CAT service: start, answer, finish; and the adaptive start's failure cases
(CAT down after the claim, a start interrupted between the claim and the first item)."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

import psycopg
import pytest

from megacity.auth.permissions import permissions_for
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.irt import ItemParams, eap
from megacity.runtime import Resources
from services.exam.attempts import queries as attempt_queries
from services.exam.attempts import service as attempts
from services.exam.exams import service as exams
from services.exam.exams.schemas import ExamIn
from services.exam.item_banks import service as banks
from services.exam.item_banks.schemas import BankIn
from services.exam.items import service as items
from services.exam.items.schemas import ItemIn
from services.exam.tests.conftest import CatServer, ExamApp, logistic_item


def principal(app: ExamApp, role: str, org: uuid.UUID | None = None) -> Principal:
    """A verified caller, as the HTTP layer would hand it to the service."""
    now = int(time.time())
    return Principal(user_id=uuid.uuid4(), zone_id=1, org_id=org or app.org_a, role=role,
                     permissions=frozenset(permissions_for(role)), jti=uuid.uuid4().hex, iat=now, exp=now + 600)


def db_rows(app: ExamApp, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(app.db.admin_url) as conn:
        return conn.execute(sql, args).fetchall()


def events(app: ExamApp, event_type: str, attempt_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db_rows(app, "SELECT payload FROM exam.outbox WHERE event_type = %s ORDER BY id", event_type)
    docs = [p if isinstance(p, dict) else json.loads(p) for (p,) in rows]
    return [d for d in docs if d.get("attempt_id") == str(attempt_id)]


async def build_exam(res: Resources, teacher: Principal, *, kind: str, n_items: int,
                     **exam: Any) -> tuple[uuid.UUID, dict[uuid.UUID, Any]]:
    bank = await banks.create_bank(res, teacher, BankIn(name=f"Bank {kind}"))
    made = {}
    for k in range(n_items):
        body = logistic_item(f"S{k:03d}", -2.0 + 4.0 * k / max(n_items - 1, 1), a=0.8 + (k % 5) * 0.3)
        row = await items.create_item(res, teacher, ItemIn(bank_id=bank.id, **body))
        made[row.id] = row
    draft = await exams.create_exam(res, teacher, ExamIn(
        title=f"{kind} exam", kind=kind, item_bank_id=bank.id,
        item_ids=list(made) if kind == "fixed" else [], **exam))
    await exams.publish_exam(res, teacher, draft.id)
    return draft.id, made


async def expect_error(status: int, code: str, coro: Any) -> AppError:
    with pytest.raises(AppError) as caught:
        await coro
    assert (caught.value.status, caught.value.code) == (status, code), caught.value
    return caught.value


async def test_fixed_attempt_start_answer_finish(exam_app: ExamApp) -> None:
    app, res = exam_app, exam_app.runtime.resources
    teacher, student = principal(app, "teacher"), principal(app, "student")
    exam_id, made = await build_exam(res, teacher, kind="fixed", n_items=4)
    form = list(made)

    started = await attempts.start_attempt(res, student, exam_id)
    assert started.kind == "fixed" and started.status == "in_progress" and started.answered == 0
    assert started.pending_item_ids == form and started.current_item is not None
    assert started.current_item.id == form[0]
    assert [e["exam_id"] for e in events(app, "exam.attempt.started", started.id)] == [str(exam_id)]
    again = await expect_error(409, "attempt.already_active", attempts.start_attempt(res, student, exam_id))
    assert again.extra == {"attempt_id": str(started.id)}

    ack = await attempts.submit_response(res, student, started.id, form[0], "B")  # right
    assert (ack.answered, ack.replayed, ack.finished) == (1, False, False)
    assert ack.next_item is not None and ack.next_item.id == form[1]
    replay = await attempts.submit_response(res, student, started.id, form[0], "B")
    assert replay.replayed and replay.answered == 1
    await expect_error(409, "attempt.response_conflict", attempts.submit_response(res, student, started.id, form[0], "C"))
    await expect_error(422, "response.invalid_answer", attempts.submit_response(res, student, started.id, form[1], "Z"))
    await attempts.submit_response(res, student, started.id, form[1], "C")  # wrong
    other = principal(app, "student")
    await expect_error(404, "attempt.not_found", attempts.submit_response(res, other, started.id, form[2], "B"))
    await expect_error(404, "attempt.not_found", attempts.finish_attempt(res, other, started.id))

    done = await attempts.finish_attempt(res, student, started.id)
    assert done.status == "completed" and done.result is not None and done.current_item is None
    params = [ItemParams("logistic", r.a, r.b, r.c, r.d) for r in made.values()]
    expected = eap(params, [1, 0, 0, 0])  # unanswered items of the form score 0
    assert done.result.theta == pytest.approx(expected.theta, abs=1e-12)
    assert done.result.estimator == "eap" and done.result.stop_reason == "submitted"
    assert (await attempts.finish_attempt(res, student, started.id)).result == done.result  # idempotent
    assert len(events(app, "exam.attempt.completed", started.id)) == 1
    await expect_error(409, "attempt.not_in_progress",
                       attempts.submit_response(res, student, started.id, form[2], "B"))
    # A new attempt may start once the last one is finished; the resume view is the same rule.
    second = await attempts.start_attempt(res, student, exam_id)
    seen = await attempts.get_attempt(res, principal(app, "org_admin"), second.id)
    assert seen.current_item == second.current_item and seen.answered == 0


async def test_adaptive_attempt_start_answer_finish(adaptive_app: ExamApp) -> None:
    app, res = adaptive_app, adaptive_app.runtime.resources
    teacher, student = principal(app, "teacher"), principal(app, "student")
    exam_id, made = await build_exam(res, teacher, kind="adaptive", n_items=12,
                                     cat_settings={"min_items": 4, "max_items": 4})
    started = await attempts.start_attempt(res, student, exam_id)
    assert started.kind == "adaptive" and started.current_item is not None and started.current_item.id in made
    assert len(events(app, "exam.attempt.started", started.id)) == 1
    current, given = started.current_item, []
    ack = None
    while current is not None:
        given.append(current.id)
        ack = await attempts.submit_response(res, student, started.id, current.id, "B")
        current = ack.next_item
    assert ack is not None and ack.finished and ack.status == "completed" and len(set(given)) == 4
    assert ack.result is not None and ack.result.estimator == "eap" and ack.result.stop_reason == "max_items"
    done = await attempts.finish_attempt(res, student, started.id)  # already finished by CAT's rule
    assert done.status == "completed" and done.result == ack.result
    assert len(events(app, "exam.attempt.completed", started.id)) == 1


async def test_adaptive_start_with_cat_down_leaves_nothing_and_can_be_retried(adaptive_app: ExamApp,
                                                                              cat_server: CatServer) -> None:
    """The attempt row is committed before CAT is called; CAT down: the client sees 503
    `dependency.cat_unavailable`, the attempt is removed again, and a later start works."""
    app, res = adaptive_app, adaptive_app.runtime.resources
    teacher = principal(app, "teacher")
    exam_id, _ = await build_exam(res, teacher, kind="adaptive", n_items=8, cat_settings={"max_items": 3})
    student = app.actor("student")
    await cat_server.stop()
    resp = await app.call("POST", f"/api/v1/exams/{exam_id}/start", student)
    assert resp.status_code == 503 and resp.json()["code"] == "dependency.cat_unavailable", resp.text
    assert db_rows(app, "SELECT id FROM exam.attempts WHERE student_id = %s", student.user_id) == []
    assert db_rows(app, "SELECT attempt_id FROM exam.active_attempts WHERE student_id = %s", student.user_id) == []

    await cat_server.start()
    att = await app.ok("POST", f"/api/v1/exams/{exam_id}/start", student, 201)
    assert att["current_item"] is not None
    assert len(db_rows(app, "SELECT id FROM exam.attempts WHERE student_id = %s", student.user_id)) == 1
    assert len(events(app, "exam.attempt.started", uuid.UUID(att["id"]))) == 1


async def test_adaptive_start_interrupted_after_the_claim_is_resumed(adaptive_app: ExamApp) -> None:
    """A start that died between its claim (committed) and the first item (never stored): the
    next start answers 409 `attempt.already_active` with the id, the resume asks CAT for the
    first item and publishes `exam.attempt.started` then, once."""
    app, res = adaptive_app, adaptive_app.runtime.resources
    teacher, student = principal(app, "teacher"), principal(app, "student")
    exam_id, made = await build_exam(res, teacher, kind="adaptive", n_items=8, cat_settings={"max_items": 3})
    ctx = attempts._student_ctx(student)
    claimed = await attempts._claim(res, ctx, student.user_id, exam_id)  # step 1 only, as if the process died
    assert claimed.pending_item_ids == [] and events(app, "exam.attempt.started", claimed.id) == []

    busy = await expect_error(409, "attempt.already_active", attempts.start_attempt(res, student, exam_id))
    assert busy.extra == {"attempt_id": str(claimed.id)}
    await expect_error(409, "attempt.item_not_current",
                       attempts.submit_response(res, student, claimed.id, next(iter(made)), "B"))
    resumed = await attempts.get_attempt(res, student, claimed.id)
    assert resumed.current_item is not None and resumed.current_item.id in made
    assert len(events(app, "exam.attempt.started", claimed.id)) == 1
    again = await attempts.get_attempt(res, student, claimed.id)
    assert again.current_item == resumed.current_item
    assert len(events(app, "exam.attempt.started", claimed.id)) == 1

    # Once it has an item, a late release of the failed start leaves it alone.
    async with tenant_transaction(res.db(), ctx) as s:
        assert not await attempt_queries.release_unstarted(s, ctx.zone_id, student.org_id, claimed.id,
                                                           claimed.started_at)
    ack = await attempts.submit_response(res, student, claimed.id, resumed.current_item.id, "B")
    assert ack.answered == 1 and ack.next_item is not None
