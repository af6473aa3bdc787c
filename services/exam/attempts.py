"""Taking an exam: start, answer, resume, submit.

- `POST /api/v1/exams/{exam_id}/start` — one active attempt per student and exam (a second
  start answers 409 `attempt.already_active` with its id, to resume). Adaptive exams start the
  CAT session (StartSession + NextItem) inside the same transaction, so a failed start leaves
  nothing behind; the reply carries the first item.
- `POST /api/v1/attempts/{attempt_id}/responses` — the response is committed to PostgreSQL
  before anything else happens and before it is acknowledged. Adaptive exams then tell CAT and
  get the next item; if CAT is down the reply is 503 `dependency.cat_unavailable` with
  `response_stored: true`, and re-sending the same answer later is safe (idempotent).
- `GET /api/v1/attempts/{attempt_id}` — resume after a disconnect: the current item again.
- `POST /api/v1/attempts/{attempt_id}/submit` — finish and score (idempotent).
The time limit is the server's: after `deadline_at` (+2 s grace) answers are refused (409
`attempt.time_expired`) and the attempt is scored as `expired` — on the next request or by the
background sweeper, whichever comes first.
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mcproto.cat.v1 import cat_pb2 as pb
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.http_app import problem_response
from megacity.runtime import Resources, resources
from services.exam import snapshots
from services.exam.access import DENIED, ORG_ID, ORG_SCOPE, acting_org, is_staff, org_context
from services.exam.attempt_store import (
    ItemView,
    answered,
    item_views,
    load_attempt,
    not_found,
    past_deadline,
    remaining_seconds,
)
from services.exam.cat_client import CatSession, cat_unavailable
from services.exam.exams import load_exam
from services.exam.ids import new_attempt_id, started_at_of
from services.exam.item_fields import score_answer
from services.exam.parent_links import ensure_parent_link
from services.exam.scoring import finalize, percentiles

router = APIRouter(prefix="/api/v1", tags=["attempts"])

# The attempt (locked), whether the item is waiting for an answer, any answer already stored,
# and the item's scoring key — one round trip.
_LOCK_FOR_RESPONSE = text(
    "SELECT a.id, a.exam_id, a.student_id, a.kind, a.status, a.started_at, a.deadline_at, a.bank_id, a.bank_version,"
    " a.seed, a.cat_settings, a.n_responses, a.pending_item_ids[1] AS current_id,"
    " (CAST(:i AS uuid) = ANY(a.pending_item_ids)) AS is_pending, r.answer AS prior_answer,"
    " i.model, i.options, i.answer_key, i.option_scores, i.max_score AS item_max_score"
    " FROM exam.attempts a LEFT JOIN exam.responses r ON r.zone_id = a.zone_id AND r.org_id = a.org_id"
    "  AND r.attempt_id = a.id AND r.attempt_started_at = a.started_at AND r.item_id = :i"
    " LEFT JOIN exam.items i ON i.zone_id = a.zone_id AND i.org_id = a.org_id AND i.id = :i"
    " WHERE a.zone_id = :z AND a.org_id = :o AND a.id = :a AND a.started_at = :ts FOR UPDATE OF a")
# Insert the response, count it on the attempt, and read the next item of the form: one round trip.
_STORE_RESPONSE = text(
    "WITH ins AS (INSERT INTO exam.responses (zone_id, org_id, attempt_id, attempt_started_at, seq, item_id, answer,"
    "  score, max_score) VALUES (:z, :o, :a, :ts, :seq, :i, :answer, :score, :max)),"
    " upd AS (UPDATE exam.attempts SET n_responses = n_responses + 1, raw_score = raw_score + :score,"
    "  max_score = max_score + :max, pending_item_ids = array_remove(pending_item_ids, CAST(:i AS uuid)),"
    "  updated_at = now() WHERE zone_id = :z AND org_id = :o AND id = :a AND started_at = :ts"
    "  RETURNING n_responses, pending_item_ids[1] AS next_id)"
    " SELECT upd.n_responses, upd.next_id, n.stem AS next_stem, n.options AS next_options,"
    " n.max_score AS next_max_score FROM upd"
    " LEFT JOIN exam.items n ON n.zone_id = :z AND n.org_id = :o AND n.id = upd.next_id")
EVENT_STARTED = "exam.attempt.started"

_ATTEMPT = "0193c2a4-5b6c-7d8e-9f01-23456789abcd"
_ITEM = {"id": "8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "stem": "Solve for x: 2x + 3 = 11",
         "options": [{"key": "A", "text": "3"}, {"key": "B", "text": "4"}], "max_score": 1}
_RESULT = {"theta": 0.42, "se": 0.31, "scaled_score": 542.0, "percentile": 61.5, "raw_score": 14, "max_score": 20,
           "estimator": "eap", "stop_reason": "se_reached"}
_OUT = {"id": _ATTEMPT, "exam_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
        "student_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "kind": "adaptive", "status": "in_progress",
        "started_at": "2026-03-02T09:00:00Z", "deadline_at": "2026-03-02T09:40:00Z", "ended_at": None,
        "remaining_seconds": 1875.0, "answered": 7, "current_item": _ITEM, "pending_item_ids": [_ITEM["id"]],
        "result": None}
NOT_FOUND = problem_response(404, "attempt.not_found", "No such attempt of yours")
EXPIRED = problem_response(409, "attempt.time_expired", "The time limit has passed; the attempt was scored")
CAT_DOWN = problem_response(503, "dependency.cat_unavailable", "The CAT engine did not answer; retry",
                            "cat did not answer (your response is stored)")


class AttemptResult(BaseModel):
    theta: float
    se: float
    scaled_score: float
    percentile: float | None = Field(description="share of the org's scored attempts of this exam below this θ")
    raw_score: int
    max_score: int = Field(description="the most the answered items could score")
    estimator: str | None
    stop_reason: str | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_OUT]})

    id: uuid.UUID
    exam_id: uuid.UUID
    student_id: uuid.UUID
    kind: Literal["fixed", "adaptive"]
    status: Literal["in_progress", "completed", "expired"]
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    ended_at: dt.datetime | None
    remaining_seconds: float | None
    answered: int
    current_item: ItemView | None = Field(description="the item to show now (null when finished)")
    pending_item_ids: list[uuid.UUID] = Field(description="adaptive: the item given; fixed: the unanswered items")
    result: AttemptResult | None = Field(description="once completed or expired")


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"item_id": _ITEM["id"], "answer": "B"}]})

    item_id: uuid.UUID
    answer: str = Field(min_length=1, max_length=1000, description="an option key, or the free-response text")


class ResponseAck(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "attempt_id": _ATTEMPT, "item_id": _ITEM["id"], "stored": True, "replayed": False, "answered": 8,
        "status": "in_progress", "finished": False, "next_item": _ITEM, "remaining_seconds": 1790.5, "result": None}]})

    attempt_id: uuid.UUID
    item_id: uuid.UUID
    stored: bool = Field(description="always true: the response is in the database")
    replayed: bool = Field(description="the same answer was already stored (a retried request)")
    answered: int
    status: Literal["in_progress", "completed", "expired"]
    finished: bool
    next_item: ItemView | None
    remaining_seconds: float | None
    result: AttemptResult | None


async def _result(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt: Any) -> AttemptResult | None:
    if attempt.status == "in_progress" or attempt.theta is None:
        return None
    pct = await percentiles(s, zone_id, org_id, [(attempt.exam_id, attempt.theta)])
    return AttemptResult(theta=attempt.theta, se=attempt.se, scaled_score=attempt.scaled_score,
                         percentile=pct.get((attempt.exam_id, attempt.theta)), raw_score=attempt.raw_score,
                         max_score=attempt.max_score, estimator=attempt.estimator, stop_reason=attempt.stop_reason)


async def _out(res: Resources, ctx: TenantContext, attempt: Any) -> AttemptOut:
    assert ctx.org_id is not None
    async with tenant_transaction(res.db(), ctx) as s:
        pending = list(attempt.pending_item_ids or []) if attempt.status == "in_progress" else []
        views = await item_views(s, ctx.zone_id, ctx.org_id, pending[:1])
        result = await _result(s, ctx.zone_id, ctx.org_id, attempt)
    return AttemptOut(id=attempt.id, exam_id=attempt.exam_id, student_id=attempt.student_id, kind=attempt.kind,
                      status=attempt.status, started_at=attempt.started_at, deadline_at=attempt.deadline_at,
                      ended_at=attempt.ended_at, remaining_seconds=remaining_seconds(attempt),
                      answered=attempt.n_responses, current_item=views[0] if views else None,
                      pending_item_ids=pending, result=result)


def _student_ctx(principal: Principal) -> TenantContext:
    if principal.org_id is None:
        raise AppError(403, "org.membership_required", "this token is not bound to an org")
    return org_context(principal, principal.org_id)


async def _store_next(s: AsyncSession, ctx: TenantContext, attempt: Any, nxt: pb.NextItemResponse,
                      n: int) -> tuple[bool, ItemView | None]:
    """Store CAT's next item and θ on the attempt, unless newer responses got there first; and
    read the item to show (one round trip)."""
    pending = list(nxt.item_ids) or ([nxt.item_id] if nxt.item_id else [])
    row = (await s.execute(text(
        "WITH upd AS (UPDATE exam.attempts SET pending_item_ids = CAST(:pending AS uuid[]), theta = :theta, se = :se,"
        "  estimator = :estimator, updated_at = now()"
        "  WHERE zone_id = :z AND org_id = :o AND id = :id AND started_at = :ts AND n_responses = :n"
        "  AND status = 'in_progress' RETURNING id)"
        " SELECT (SELECT count(*) FROM upd) AS updated, i.id, i.stem, i.options, i.max_score"
        " FROM (SELECT 1) one LEFT JOIN exam.items i ON i.zone_id = :z AND i.org_id = :o"
        "  AND i.id = CAST(:first AS uuid)"),
        {"pending": pending, "theta": nxt.state.theta, "se": nxt.state.se, "estimator": nxt.state.estimator,
         "z": ctx.zone_id, "o": ctx.org_id, "id": attempt.id, "ts": attempt.started_at, "n": n,
         "first": pending[0] if pending else None})).one()
    view = ItemView(id=row.id, stem=row.stem, options=row.options or [], max_score=row.max_score) \
        if row.id is not None else None
    return row.updated == 1, view


async def _apply_next(res: Resources, ctx: TenantContext, attempt: Any, nxt: pb.NextItemResponse, n: int) -> Any:
    """Store CAT's next item (see `_store_next`), or finish the attempt when CAT's stopping rule
    has ended the test."""
    assert ctx.org_id is not None
    if nxt.finished:
        return await finalize(res, ctx, attempt.id, reason=nxt.state.stop_reason or "finished", cat_state=nxt.state)
    async with tenant_transaction(res.db(), ctx) as s:
        await _store_next(s, ctx, attempt, nxt, n)
        return await load_attempt(s, ctx.zone_id, ctx.org_id, attempt.id)


async def _resync(res: Resources, ctx: TenantContext, attempt: Any) -> Any:
    """Adaptive attempt without a current item (CAT failed after a stored response): ask again."""
    assert ctx.org_id is not None
    async with tenant_transaction(res.db(), ctx) as s:
        given = await answered(s, ctx.zone_id, ctx.org_id, attempt)
    nxt = await CatSession(res, ctx.zone_id, ctx.org_id, attempt).sync(given)
    return await _apply_next(res, ctx, attempt, nxt, len(given))


# ------------------------------------------------------------------------------------------------
# start


@router.post("/exams/{exam_id}/start", status_code=201, response_model=AttemptOut, tags=["attempts"],
             summary="Start an attempt (adaptive exams: the first item comes from CAT)",
             responses={**DENIED, **problem_response(404, "exam.not_found", "No such exam in your org"),
                        **problem_response(409, "attempt.already_active", "You have an attempt in progress; resume it",
                                           "attempt 0193c2a4-5b6c-7d8e-9f01-23456789abcd is in progress"),
                        **problem_response(409, "exam.not_published", "The exam is not open for attempts"),
                        **problem_response(409, "attempt.limit_reached", "No attempts left on this exam"),
                        **problem_response(422, "exam.cat_settings_rejected", "The CAT engine refused the settings"),
                        **CAT_DOWN})
async def start_attempt(exam_id: uuid.UUID, principal: Principal = Depends(require("attempt:create")),
                        res: Resources = Depends(resources)) -> AttemptOut:
    ctx = _student_ctx(principal)
    zone, org, student = principal.zone_id, principal.org_id, principal.user_id
    assert org is not None
    async with tenant_transaction(res.db(), ctx) as s:
        active = (await s.execute(text(
            "SELECT attempt_id, deadline_at FROM exam.active_attempts WHERE zone_id = :z AND org_id = :o"
            " AND exam_id = :e AND student_id = :st"), {"z": zone, "o": org, "e": exam_id, "st": student})).first()
    if active is not None and active.deadline_at is not None and past_deadline(active):
        await finalize(res, ctx, active.attempt_id, reason="expired")
    async with tenant_transaction(res.db(), ctx) as s:
        exam = await load_exam(s, zone, org, exam_id, lock="SHARE")
        if exam.status != "published":
            raise AppError(409, "exam.not_published", f"exam is {exam.status}; it cannot be started")
        attempt_id, started = new_attempt_id()
        deadline = started + dt.timedelta(seconds=exam.time_limit_seconds) if exam.time_limit_seconds else None
        claimed = (await s.execute(text(
            "INSERT INTO exam.active_attempts (zone_id, org_id, exam_id, student_id, attempt_id, started_at, deadline_at)"
            " VALUES (:z, :o, :e, :st, :id, :ts, :deadline) ON CONFLICT DO NOTHING RETURNING attempt_id"),
            {"z": zone, "o": org, "e": exam_id, "st": student, "id": attempt_id, "ts": started,
             "deadline": deadline})).first()
        if claimed is None:
            other = (await s.execute(text(
                "SELECT attempt_id FROM exam.active_attempts WHERE zone_id = :z AND org_id = :o AND exam_id = :e"
                " AND student_id = :st"), {"z": zone, "o": org, "e": exam_id, "st": student})).scalar_one_or_none()
            if other is None:  # it ended just now
                raise AppError(409, "attempt.busy", "your previous attempt was finishing; start again")
            raise AppError(409, "attempt.already_active", f"attempt {other} is in progress; resume it",
                           {"attempt_id": str(other)})
        if exam.max_attempts is not None:
            taken = (await s.execute(text(
                "SELECT count(*) FROM exam.attempts WHERE zone_id = :z AND org_id = :o AND student_id = :st"
                " AND exam_id = :e"), {"z": zone, "o": org, "st": student, "e": exam_id})).scalar_one()
            if taken >= exam.max_attempts:
                raise AppError(409, "attempt.limit_reached", f"all {exam.max_attempts} attempts are used")
        version = await snapshots.current_version(s, zone, org, exam.bank_id)
        form = list(exam.item_ids or [])
        if exam.kind == "fixed":
            snap = await snapshots.load(s, zone, org, exam.bank_id, version)
            gone = [i for i in form if str(i) not in snap.params]
            if gone:
                raise AppError(409, "exam.items_unavailable", f"{len(gone)} item(s) of the form were retired")
        seed = secrets.randbits(62)
        attempt = (await s.execute(text(
            "INSERT INTO exam.attempts (id, zone_id, org_id, exam_id, student_id, class_id, kind, started_at,"
            " deadline_at, bank_id, bank_version, seed, cat_settings, item_ids, pending_item_ids)"
            " VALUES (:id, :z, :o, :e, :st, :class_id, :kind, :ts, :deadline, :bank, :version, :seed,"
            " CAST(:cat AS jsonb), :form, :form) RETURNING id, bank_id, bank_version, seed, cat_settings"),
            {"id": attempt_id, "z": zone, "o": org, "e": exam_id, "st": student, "class_id": exam.class_id,
             "kind": exam.kind, "ts": started, "deadline": deadline, "bank": exam.bank_id, "version": version,
             "seed": seed, "cat": _json(exam.cat_settings), "form": form})).one()
        await add_event(s, "exam", EVENT_STARTED, {
            "attempt_id": str(attempt_id), "exam_id": str(exam_id), "student_id": str(student), "kind": exam.kind,
            "class_id": str(exam.class_id) if exam.class_id else None, "started_at": started,
            "deadline_at": deadline}, zone_id=zone, org_id=org)
        if exam.kind == "adaptive":
            # CAT inside the transaction: if it fails, the attempt was never started.
            cat = CatSession(res, zone, org, attempt)
            try:
                await cat.start()
                nxt = await cat.next_item()
            except AppError as err:
                if err.status == 400 and err.code.startswith("cat."):
                    raise AppError(422, "exam.cat_settings_rejected",
                                   f"the CAT engine refused this exam's settings: {err.detail}") from None
                raise
            if nxt.finished or not nxt.item_id:
                raise AppError(409, "exam.no_items", "the item bank has no item this exam can give")
            await s.execute(text(
                "UPDATE exam.attempts SET pending_item_ids = CAST(:pending AS uuid[]), theta = :theta, se = :se,"
                " estimator = :estimator WHERE zone_id = :z AND org_id = :o AND id = :id AND started_at = :ts"),
                {"pending": list(nxt.item_ids) or [nxt.item_id], "theta": nxt.state.theta, "se": nxt.state.se,
                 "estimator": nxt.state.estimator, "z": zone, "o": org, "id": attempt_id, "ts": started})
        row = await load_attempt(s, zone, org, attempt_id)
    return await _out(res, ctx, row)


def _json(value: Any) -> str | None:
    import json

    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


# ------------------------------------------------------------------------------------------------
# read / resume


async def _visible(res: Resources, principal: Principal, org: uuid.UUID, attempt: Any) -> None:
    """Students see their own attempts, parents their linked children's, staff their org's."""
    if principal.role == "student":
        if attempt.student_id != principal.user_id:
            raise not_found(attempt.id)
    elif principal.role == "parent":
        await ensure_parent_link(res, principal, org, attempt.student_id)
    elif not is_staff(principal):
        raise not_found(attempt.id)


@router.get("/attempts/{attempt_id}", response_model=AttemptOut, summary="An attempt; resume it after a disconnect",
            description="While in progress the reply carries the item to show now (the same one until it is "
                        "answered). After the time limit the attempt is scored and shows its result.",
            responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **CAT_DOWN,
                       **problem_response(403, "parent_link.required", "No approved link to this student")})
async def get_attempt(attempt_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("attempt:read")),
                      res: Resources = Depends(resources)) -> AttemptOut:
    org = acting_org(principal, org_id)
    ctx = org_context(principal, org)
    async with tenant_transaction(res.db(), ctx) as s:
        attempt = await load_attempt(s, principal.zone_id, org, attempt_id)
    await _visible(res, principal, org, attempt)
    if attempt.status == "in_progress":
        if past_deadline(attempt):
            attempt = await finalize(res, ctx, attempt.id, reason="expired")
        elif attempt.kind == "adaptive" and not attempt.pending_item_ids and principal.user_id == attempt.student_id:
            attempt = await _resync(res, ctx, attempt)
    return await _out(res, ctx, attempt)


# ------------------------------------------------------------------------------------------------
# answer


@router.post("/attempts/{attempt_id}/responses", status_code=201, response_model=ResponseAck,
             summary="Answer the current item (stored before it is acknowledged)",
             responses={**DENIED, **NOT_FOUND, **EXPIRED, **CAT_DOWN,
                        **problem_response(409, "attempt.item_not_current", "That item is not waiting for an answer"),
                        **problem_response(409, "attempt.response_conflict", "A different answer is already stored"),
                        **problem_response(409, "attempt.not_in_progress", "The attempt is finished"),
                        **problem_response(422, "response.invalid_answer", "The answer is not one of the options")})
async def submit_response(attempt_id: uuid.UUID, body: ResponseIn,
                          principal: Principal = Depends(require("attempt:create")),
                          res: Resources = Depends(resources)) -> ResponseAck:
    ctx = _student_ctx(principal)
    zone, org = principal.zone_id, principal.org_id
    assert org is not None
    started = started_at_of(attempt_id)
    if started is None:
        raise not_found(attempt_id)
    expired = replayed = False
    ack: ResponseAck | None = None
    async with tenant_transaction(res.db(), ctx) as s:
        a = (await s.execute(_LOCK_FOR_RESPONSE, {"z": zone, "o": org, "a": attempt_id, "ts": started,
                                                  "i": body.item_id})).first()
        if a is None or a.student_id != principal.user_id:
            raise not_found(attempt_id)
        if a.prior_answer is not None:
            if a.prior_answer != body.answer:
                raise AppError(409, "attempt.response_conflict", "a different answer to this item is already stored")
            replayed = True
        elif a.status != "in_progress":
            code = "attempt.time_expired" if a.status == "expired" else "attempt.not_in_progress"
            raise AppError(409, code, f"the attempt is {a.status}")
        elif past_deadline(a):
            expired = True
        elif not a.is_pending:
            raise AppError(409, "attempt.item_not_current", "that item is not waiting for an answer in this attempt")
        else:
            score = score_answer(a, body.answer)
            stored = (await s.execute(_STORE_RESPONSE, {
                "z": zone, "o": org, "a": attempt_id, "ts": started, "seq": a.n_responses + 1, "i": body.item_id,
                "answer": body.answer, "score": score, "max": a.item_max_score})).one()
            if a.kind == "fixed":
                # The common case answers from this transaction.
                nxt_view = ItemView(id=stored.next_id, stem=stored.next_stem, options=stored.next_options or [],
                                    max_score=stored.next_max_score) if stored.next_stem is not None else None
                ack = ResponseAck(attempt_id=attempt_id, item_id=body.item_id, stored=True, replayed=False,
                                  answered=stored.n_responses, status="in_progress", finished=False,
                                  next_item=nxt_view, remaining_seconds=remaining_seconds(a), result=None)
    # Committed: the response is stored. Everything below may fail without losing it.
    if ack is not None:
        return ack
    if expired:
        await finalize(res, ctx, attempt_id, reason="expired")
        raise AppError(409, "attempt.time_expired", "the time limit has passed; the attempt was scored")
    if a.status == "in_progress" and a.kind == "adaptive" and (not replayed or a.current_id is None):
        try:
            if replayed:
                await _resync(res, ctx, a)
            else:
                async def load_answered() -> list[tuple[str, int]]:
                    async with tenant_transaction(res.db(), ctx) as s2:
                        return await answered(s2, zone, org, a)

                nxt = await CatSession(res, zone, org, a).advance([(str(body.item_id), score)], load_answered)
                if not nxt.finished:
                    async with tenant_transaction(res.db(), ctx) as s:
                        updated, view = await _store_next(s, ctx, a, nxt, a.n_responses + 1)
                    if updated:
                        return ResponseAck(attempt_id=attempt_id, item_id=body.item_id, stored=True,
                                           replayed=False, answered=a.n_responses + 1, status="in_progress",
                                           finished=False, next_item=view, remaining_seconds=remaining_seconds(a),
                                           result=None)
                else:
                    await _apply_next(res, ctx, a, nxt, a.n_responses + 1)
        except AppError as err:
            if cat_unavailable(err):
                raise AppError(err.status, err.code, f"{err.detail} (your response is stored; send it again to "
                               "continue)", {**err.extra, "response_stored": True}) from None
            raise
    async with tenant_transaction(res.db(), ctx) as s:
        current = await load_attempt(s, zone, org, attempt_id)
    out = await _out(res, ctx, current)
    return ResponseAck(attempt_id=attempt_id, item_id=body.item_id, stored=True, replayed=replayed,
                       answered=current.n_responses, status=current.status, finished=current.status != "in_progress",
                       next_item=out.current_item, remaining_seconds=out.remaining_seconds, result=out.result)


# ------------------------------------------------------------------------------------------------
# submit


@router.post("/attempts/{attempt_id}/submit", response_model=AttemptOut, summary="Finish the attempt and score it",
             description="Idempotent: a finished attempt answers with its result. Publishes "
                         "`exam.attempt.completed`.",
             responses={**DENIED, **NOT_FOUND})
async def submit_attempt(attempt_id: uuid.UUID, principal: Principal = Depends(require("attempt:create")),
                         res: Resources = Depends(resources)) -> AttemptOut:
    ctx = _student_ctx(principal)
    assert principal.org_id is not None
    async with tenant_transaction(res.db(), ctx) as s:
        attempt = await load_attempt(s, principal.zone_id, principal.org_id, attempt_id)
    if attempt.student_id != principal.user_id:
        raise not_found(attempt_id)
    if attempt.status == "in_progress":
        attempt = await finalize(res, ctx, attempt_id, reason="expired" if past_deadline(attempt) else "submitted")
    return await _out(res, ctx, attempt)
