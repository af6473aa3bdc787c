"""Taking an exam: start, answer, resume, finish. No CAT (gRPC) or tenant call is ever made
while a database transaction is open: each step commits, then calls out, then stores what came
back in a new transaction guarded against what may have happened in between.

Start (`start_attempt`) — one active attempt per student and exam (a second start: 409
`attempt.already_active` with its id, to resume).
- Fixed form: one transaction claims the slot, checks the limit and the form, writes the attempt
  with the whole form pending and queues `exam.attempt.started`.
- Adaptive, in three steps:
  1. claim — one transaction claims the slot, writes the attempt with no item yet (its bank
     version, settings and seed frozen) and commits; nothing is published yet;
  2. CAT — StartSession + NextItem, with no transaction open (a fresh CAT replica gets
     LoadBank from the frozen snapshot first, read in a short transaction of its own);
  3. first item — one transaction stores the item and θ only if the attempt still has no item
     and no response, and queues `exam.attempt.started` with it.
  Failure cases:
  - CAT unreachable at 2 (503 `dependency.cat_unavailable`), CAT refusing the settings (422
    `exam.cat_settings_rejected`) or no item to give (409 `exam.no_items`): the attempt written
    at 1 is deleted again with its claim, only while it still has no item and no response. The
    client sees the error and nothing is left: starting again once CAT is back works (as before
    the split, when CAT was called inside the start transaction).
  - The process dies (or the database fails) between 1 and 3: the attempt stays without an
    item and without a started event. The next start answers 409 `attempt.already_active` with
    its id; `GET /attempts/{id}` by the student asks CAT for the first item (the session is
    rebuilt from the stored seed, so it is the same item) and stores it with the started event
    (`_apply_next`, n = 0). A timed one left alone is scored `expired` by the sweep.
  - Two requests race to store the first item (a start and a resume): the guarded write at 3
    lets one win; the other returns the attempt as stored.

Answer (`submit_response`) — the response is committed (attempt row locked) before anything
else. A fixed form answers from that transaction. An adaptive attempt then tells CAT
(SubmitResponses + NextItem, no transaction open) and stores the next item in a new transaction
that applies only if no newer response got there first. CAT down: 503
`dependency.cat_unavailable` with `response_stored: true`; sending the same answer again is
safe (a replay) and asks CAT again. CAT restarted: `cat.bank_not_loaded` -> LoadBank, retry.
CAT's state lost: `cat.session_not_found` -> StartSession with every stored response.

Resume (`get_attempt`) — the current item again; an adaptive attempt without one (CAT failed
after a stored response) asks CAT first. Past the deadline (+2 s) it is scored `expired`.

Finish (`finish_attempt`) — score and close (idempotent): `scoring.finalize`. An adaptive
attempt submitted (or timed out) before the exam's `min_items` ends `incomplete`: its result
shows θ and SE, `counted: false` and no percentile (`attempt_incomplete`); see `scoring`.
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mcproto.cat.v1 import cat_pb2 as pb
from megacity.auth.org_scope import acting_org, is_staff, org_context
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.exam import snapshots
from services.exam.attempt_store import (
    COUNTED_STATUSES,
    AttemptRow,
    ShownItem,
    Stored,
    answered,
    load_attempt,
    not_found,
    past_deadline,
    remaining_seconds,
    shown_items,
)
from services.exam.attempts import queries
from services.exam.attempts.queries import CatStep, LockedForResponse
from services.exam.cat_client import CatAttempt, CatSession, cat_unavailable
from services.exam.exam_store import ExamRow, load_exam
from services.exam.ids import new_attempt_id, started_at_of
from services.exam.item_fields import score_answer
from services.exam.parent_links import ensure_parent_link
from services.exam.scoring import finalize, min_norm_group, norm_ranks, rank_of, required_items
from services.exam.teacher_classes import teaches_student

log = get_logger("exam.attempts")
EVENT_STARTED = "exam.attempt.started"


class Resumable(CatAttempt, Stored, Protocol):
    """An attempt whose CAT session can be rebuilt and whose rows can be found."""


@dataclass(frozen=True)
class AttemptScore:
    theta: float
    se: float | None
    scaled_score: float | None
    percentile: float | None
    percentile_unavailable: str | None  # scoring.PercentileUnavailable, when percentile is null
    norm_group_size: int | None
    required_items: int
    counted: bool
    raw_score: int
    max_score: int
    estimator: str | None
    stop_reason: str | None


@dataclass(frozen=True)
class AttemptState:
    """An attempt as its taker sees it now."""

    id: uuid.UUID
    exam_id: uuid.UUID
    student_id: uuid.UUID
    kind: str
    status: str
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    ended_at: dt.datetime | None
    remaining_seconds: float | None
    answered: int
    current_item: ShownItem | None
    pending_item_ids: list[uuid.UUID]
    result: AttemptScore | None


@dataclass(frozen=True)
class ResponseOutcome:
    """The acknowledgement of a stored response (`stored` is always true)."""

    attempt_id: uuid.UUID
    item_id: uuid.UUID
    replayed: bool
    answered: int
    status: str
    finished: bool
    next_item: ShownItem | None
    remaining_seconds: float | None
    result: AttemptScore | None
    stored: bool = True


@dataclass(frozen=True)
class _Recorded:
    """What the response transaction found and did."""

    attempt: LockedForResponse
    replayed: bool = False
    expired: bool = False
    score: int = 0
    outcome: ResponseOutcome | None = None  # set when the transaction could answer (fixed form)


# ------------------------------------------------------------------------------------------------
# shared steps


def _student_ctx(principal: Principal) -> TenantContext:
    if principal.org_id is None:
        raise AppError(403, "org.membership_required", "this token is not bound to an org")
    return org_context(principal, principal.org_id)


def _org(ctx: TenantContext) -> uuid.UUID:
    assert ctx.org_id is not None
    return ctx.org_id


async def _score(s: AsyncSession, ctx: TenantContext, attempt: AttemptRow, min_group: int) -> AttemptScore | None:
    """The result of a finished attempt; an `incomplete` one shows θ and SE but no percentile."""
    if attempt.status == "in_progress" or attempt.theta is None:
        return None
    ranks = await norm_ranks(s, ctx.zone_id, _org(ctx), [(attempt.exam_id, attempt.theta)], min_group=min_group)
    rank = rank_of(ranks, attempt.status, attempt.exam_id, attempt.theta)
    return AttemptScore(theta=attempt.theta, se=attempt.se, scaled_score=attempt.scaled_score,
                        percentile=rank.percentile, percentile_unavailable=rank.unavailable,
                        norm_group_size=rank.norm_group,
                        required_items=required_items(attempt.kind, attempt.cat_settings),
                        counted=attempt.status in COUNTED_STATUSES, raw_score=attempt.raw_score,
                        max_score=attempt.max_score, estimator=attempt.estimator, stop_reason=attempt.stop_reason)


async def _state(res: Resources, ctx: TenantContext, attempt: AttemptRow) -> AttemptState:
    async with tenant_transaction(res.db(), ctx) as s:
        pending = list(attempt.pending_item_ids or []) if attempt.status == "in_progress" else []
        views = await shown_items(s, ctx.zone_id, _org(ctx), pending[:1])
        result = await _score(s, ctx, attempt, min_norm_group(res))
    return AttemptState(id=attempt.id, exam_id=attempt.exam_id, student_id=attempt.student_id, kind=attempt.kind,
                        status=attempt.status, started_at=attempt.started_at, deadline_at=attempt.deadline_at,
                        ended_at=attempt.ended_at, remaining_seconds=remaining_seconds(attempt),
                        answered=attempt.n_responses, current_item=views[0] if views else None,
                        pending_item_ids=pending, result=result)


def _step(nxt: pb.NextItemResponse) -> CatStep:
    pending = list(nxt.item_ids) or ([nxt.item_id] if nxt.item_id else [])
    return CatStep(pending=pending, theta=nxt.state.theta, se=nxt.state.se, estimator=nxt.state.estimator)


async def _started_event(s: AsyncSession, ctx: TenantContext, attempt: AttemptRow) -> None:
    await add_event(s, "exam", EVENT_STARTED, {
        "attempt_id": str(attempt.id), "exam_id": str(attempt.exam_id), "student_id": str(attempt.student_id),
        "kind": attempt.kind, "class_id": str(attempt.class_id) if attempt.class_id else None,
        "started_at": attempt.started_at, "deadline_at": attempt.deadline_at}, zone_id=ctx.zone_id, org_id=ctx.org_id)


async def _apply_next(res: Resources, ctx: TenantContext, attempt: Stored, nxt: pb.NextItemResponse,
                      n: int) -> AttemptRow:
    """Store what CAT said after `n` responses: finish the attempt when its stopping rule ended
    the test; with n = 0, the first item (once) and `exam.attempt.started`; else the next item,
    unless newer responses got there first."""
    if nxt.finished:
        return await finalize(res, ctx, attempt.id, reason=nxt.state.stop_reason or "finished", cat_state=nxt.state)
    async with tenant_transaction(res.db(), ctx) as s:
        if n == 0:
            if await queries.store_first_item(s, ctx.zone_id, _org(ctx), attempt.id, attempt.started_at, _step(nxt)):
                row = await load_attempt(s, ctx.zone_id, _org(ctx), attempt.id)
                await _started_event(s, ctx, row)
                return row
        else:
            await queries.store_next(s, ctx.zone_id, _org(ctx), attempt.id, attempt.started_at, _step(nxt), n)
        return await load_attempt(s, ctx.zone_id, _org(ctx), attempt.id)


async def _resync(res: Resources, ctx: TenantContext, attempt: Resumable) -> AttemptRow:
    """Adaptive attempt without a current item (CAT failed after a stored response, or before
    the first item): bring CAT to every stored response and store what it gives next."""
    async with tenant_transaction(res.db(), ctx) as s:
        given = await answered(s, ctx.zone_id, _org(ctx), attempt)
    nxt = await CatSession(res, ctx.zone_id, _org(ctx), attempt).sync(given)
    return await _apply_next(res, ctx, attempt, nxt, len(given))


# ------------------------------------------------------------------------------------------------
# start


async def _expire_if_overdue(res: Resources, ctx: TenantContext, exam_id: uuid.UUID, student_id: uuid.UUID) -> None:
    """An active attempt past its deadline is scored now, so that a new one can start."""
    async with tenant_transaction(res.db(), ctx) as s:
        active = await queries.active_claim(s, ctx.zone_id, _org(ctx), exam_id, student_id)
    if active is not None and active.deadline_at is not None and past_deadline(active):
        await finalize(res, ctx, active.attempt_id, reason="expired")


async def _take_slot(s: AsyncSession, ctx: TenantContext, exam: ExamRow, student_id: uuid.UUID,
                     attempt_id: uuid.UUID, started: dt.datetime, deadline: dt.datetime | None) -> None:
    """Claim the one in-progress slot and check the attempt limit (in the claim transaction)."""
    zone, org = ctx.zone_id, _org(ctx)
    if not await queries.claim_active(s, zone, org, exam.id, student_id, attempt_id, started, deadline):
        other = await queries.active_claim(s, zone, org, exam.id, student_id)
        if other is None:  # it ended just now
            raise AppError(409, "attempt.busy", "your previous attempt was finishing; start again")
        raise AppError(409, "attempt.already_active", f"attempt {other.attempt_id} is in progress; resume it",
                       {"attempt_id": str(other.attempt_id)})
    if exam.max_attempts is not None:
        if await queries.count_attempts(s, zone, org, exam.id, student_id) >= exam.max_attempts:
            raise AppError(409, "attempt.limit_reached", f"all {exam.max_attempts} attempts are used")


async def _claim(res: Resources, ctx: TenantContext, student_id: uuid.UUID, exam_id: uuid.UUID) -> AttemptRow:
    """Step 1 of a start, one transaction: the attempt row and its claim; a fixed form's
    `exam.attempt.started` (an adaptive attempt's comes with its first item)."""
    zone, org = ctx.zone_id, _org(ctx)
    async with tenant_transaction(res.db(), ctx) as s:
        exam = await load_exam(s, zone, org, exam_id, lock="SHARE")
        if exam.status != "published":
            raise AppError(409, "exam.not_published", f"exam is {exam.status}; it cannot be started")
        attempt_id, started = new_attempt_id()
        deadline = started + dt.timedelta(seconds=exam.time_limit_seconds) if exam.time_limit_seconds else None
        await _take_slot(s, ctx, exam, student_id, attempt_id, started, deadline)
        version = await snapshots.current_version(s, zone, org, exam.bank_id)
        form = list(exam.item_ids or [])
        if exam.kind == "fixed":
            snap = await snapshots.load(s, zone, org, exam.bank_id, version)
            gone = [i for i in form if str(i) not in snap.params]
            if gone:
                raise AppError(409, "exam.items_unavailable", f"{len(gone)} item(s) of the form were retired")
        await queries.insert_attempt(s, zone, org, queries.NewAttempt(
            id=attempt_id, exam_id=exam_id, student_id=student_id, class_id=exam.class_id, kind=exam.kind,
            started_at=started, deadline_at=deadline, bank_id=exam.bank_id, bank_version=version,
            seed=secrets.randbits(62), cat_settings=exam.cat_settings, form=form))
        row = await load_attempt(s, zone, org, attempt_id)
        if exam.kind == "fixed":
            await _started_event(s, ctx, row)
    return row


async def _first_from_cat(res: Resources, ctx: TenantContext, attempt: AttemptRow) -> pb.NextItemResponse:
    """Step 2 of an adaptive start: StartSession + NextItem (no transaction open)."""
    cat = CatSession(res, ctx.zone_id, _org(ctx), attempt)
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
    return nxt


async def _release(res: Resources, ctx: TenantContext, attempt: AttemptRow) -> None:
    """A failed adaptive start leaves nothing behind (unless the attempt got an item meanwhile)."""
    try:
        async with tenant_transaction(res.db(), ctx) as s:
            await queries.release_unstarted(s, ctx.zone_id, _org(ctx), attempt.id, attempt.started_at)
    except Exception as exc:  # noqa: BLE001 - the start's own error is the one to report
        log.warning("could not release a failed start; resumable", attempt_id=str(attempt.id), error=str(exc)[:300])


async def start_attempt(res: Resources, principal: Principal, exam_id: uuid.UUID) -> AttemptState:
    """Start the caller's attempt at a published exam (see the module doc for the steps and
    their failure cases). The reply carries the first item."""
    ctx = _student_ctx(principal)
    await _expire_if_overdue(res, ctx, exam_id, principal.user_id)
    attempt = await _claim(res, ctx, principal.user_id, exam_id)
    if attempt.kind == "adaptive":
        try:
            nxt = await _first_from_cat(res, ctx, attempt)
        except Exception:
            await _release(res, ctx, attempt)
            raise
        attempt = await _apply_next(res, ctx, attempt, nxt, 0)
    return await _state(res, ctx, attempt)


# ------------------------------------------------------------------------------------------------
# read / resume


async def _visible(res: Resources, principal: Principal, org: uuid.UUID, attempt: AttemptRow) -> None:
    """Students see their own attempts, parents their linked children's, teachers those of the
    students in their classes (the reports' rule), admins their org's."""
    if principal.role == "student":
        if attempt.student_id != principal.user_id:
            raise not_found(attempt.id)
    elif principal.role == "parent":
        await ensure_parent_link(res, principal, org, attempt.student_id)
    elif principal.role == "teacher":
        if not await teaches_student(res, principal.zone_id, org, principal.user_id, attempt.student_id):
            raise not_found(attempt.id)
    elif not is_staff(principal):
        raise not_found(attempt.id)


async def get_attempt(res: Resources, principal: Principal, attempt_id: uuid.UUID,
                      org_id: uuid.UUID | None = None) -> AttemptState:
    """An attempt as it is now. Past its deadline it is scored first; the student's own adaptive
    attempt without a current item asks CAT for it first (resume)."""
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
    return await _state(res, ctx, attempt)


# ------------------------------------------------------------------------------------------------
# answer


async def _record(res: Resources, ctx: TenantContext, student_id: uuid.UUID, attempt_id: uuid.UUID,
                  started: dt.datetime, item_id: uuid.UUID, answer: str) -> _Recorded:
    """The response transaction: lock the attempt, decide, store; a fixed form's reply."""
    zone, org = ctx.zone_id, _org(ctx)
    async with tenant_transaction(res.db(), ctx) as s:
        a = await queries.lock_for_response(s, zone, org, attempt_id, started, item_id)
        if a is None or a.student_id != student_id:
            raise not_found(attempt_id)
        if a.prior_answer is not None:
            if a.prior_answer != answer:
                raise AppError(409, "attempt.response_conflict", "a different answer to this item is already stored")
            return _Recorded(a, replayed=True)
        if a.status != "in_progress":
            code = "attempt.time_expired" if a.status == "expired" else "attempt.not_in_progress"
            raise AppError(409, code, f"the attempt is {a.status}")
        if past_deadline(a):
            return _Recorded(a, expired=True)
        if not a.is_pending:
            raise AppError(409, "attempt.item_not_current", "that item is not waiting for an answer in this attempt")
        score = score_answer(a, answer)
        stored = await queries.store_response(s, zone, org, a, item_id, answer, score)
    if a.kind != "fixed":
        return _Recorded(a, score=score)
    return _Recorded(a, score=score, outcome=ResponseOutcome(
        attempt_id=attempt_id, item_id=item_id, replayed=False, answered=stored.n_responses, status="in_progress",
        finished=False, next_item=stored.next_item, remaining_seconds=remaining_seconds(a), result=None))


async def _advance(res: Resources, ctx: TenantContext, rec: _Recorded, item_id: uuid.UUID) -> ResponseOutcome | None:
    """Tell CAT about the stored response (no transaction open) and store its next item; the
    reply when that went through, None when the attempt is to be read again (finished, replay,
    or a newer response got there first)."""
    a = rec.attempt
    try:
        if rec.replayed:
            await _resync(res, ctx, a)
            return None

        async def load_answered() -> list[tuple[str, int]]:
            async with tenant_transaction(res.db(), ctx) as s:
                return await answered(s, ctx.zone_id, _org(ctx), a)

        nxt = await CatSession(res, ctx.zone_id, _org(ctx), a).advance([(str(item_id), rec.score)], load_answered)
        if nxt.finished:
            await _apply_next(res, ctx, a, nxt, a.n_responses + 1)
            return None
        async with tenant_transaction(res.db(), ctx) as s:
            updated, view = await queries.store_next(s, ctx.zone_id, _org(ctx), a.id, a.started_at, _step(nxt),
                                                     a.n_responses + 1)
    except AppError as err:
        if cat_unavailable(err):
            raise AppError(err.status, err.code, f"{err.detail} (your response is stored; send it again to "
                           "continue)", {**err.extra, "response_stored": True}) from None
        raise
    if not updated:
        return None
    return ResponseOutcome(attempt_id=a.id, item_id=item_id, replayed=False, answered=a.n_responses + 1,
                           status="in_progress", finished=False, next_item=view,
                           remaining_seconds=remaining_seconds(a), result=None)


async def submit_response(res: Resources, principal: Principal, attempt_id: uuid.UUID, item_id: uuid.UUID,
                          answer: str) -> ResponseOutcome:
    """Store the caller's answer to the current item (idempotent per item), then move on: the
    next item of the form, or CAT's (see the module doc for CAT failures)."""
    ctx = _student_ctx(principal)
    started = started_at_of(attempt_id)
    if started is None:
        raise not_found(attempt_id)
    rec = await _record(res, ctx, principal.user_id, attempt_id, started, item_id, answer)
    # Committed: the response is stored. Everything below may fail without losing it.
    if rec.outcome is not None:
        return rec.outcome
    a = rec.attempt
    if rec.expired:
        await finalize(res, ctx, attempt_id, reason="expired")
        raise AppError(409, "attempt.time_expired", "the time limit has passed; the attempt was scored")
    if a.status == "in_progress" and a.kind == "adaptive" and (not rec.replayed or a.current_id is None):
        outcome = await _advance(res, ctx, rec, item_id)
        if outcome is not None:
            return outcome
    async with tenant_transaction(res.db(), ctx) as s:
        current = await load_attempt(s, ctx.zone_id, _org(ctx), attempt_id)
    state = await _state(res, ctx, current)
    return ResponseOutcome(attempt_id=attempt_id, item_id=item_id, replayed=rec.replayed, answered=current.n_responses,
                           status=current.status, finished=current.status != "in_progress",
                           next_item=state.current_item, remaining_seconds=state.remaining_seconds,
                           result=state.result)


# ------------------------------------------------------------------------------------------------
# finish


async def finish_attempt(res: Resources, principal: Principal, attempt_id: uuid.UUID) -> AttemptState:
    """Score and close the caller's attempt (idempotent: a finished one is returned as it is);
    publishes `exam.attempt.completed`."""
    ctx = _student_ctx(principal)
    async with tenant_transaction(res.db(), ctx) as s:
        attempt = await load_attempt(s, ctx.zone_id, _org(ctx), attempt_id)
    if attempt.student_id != principal.user_id:
        raise not_found(attempt_id)
    if attempt.status == "in_progress":
        attempt = await finalize(res, ctx, attempt_id, reason="expired" if past_deadline(attempt) else "submitted")
    return await _state(res, ctx, attempt)

