"""Finishing an attempt: θ, SE, scaled score; percentiles within the org.

- Adaptive: θ and SE are the CAT session's final estimate (the exam's estimator). If CAT cannot
  be reached, the exam scores the stored responses itself with EAP on the attempt's frozen bank
  version (estimator `eap_exam`), so a submit never waits on CAT.
- Fixed: EAP (N(0, 1) prior, 81-point grid on −4..4) with the same IRT models, on the frozen
  bank version; an unanswered item of the form counts as score 0.
- Scaled score = exam.scale_mean + exam.scale_sd · θ.
- Percentile (computed when read, so it follows the population): the share of the exam's norm
  group — the org's counted (`completed` or `expired`) attempts of the same exam — below this θ,
  ties counted half. Shown only once the norm group has at least `EXAM_MIN_NORM_GROUP` attempts
  (default 30); below that it is null with `percentile_unavailable: norm_group_too_small`.

Status (honest scores, issue #13):
- `completed` when submitted, or when CAT's stopping rule ended the test (its stop reason: the
  engine gave as many items as it could, so the measure is complete);
- `expired` when the time limit ran out first (scored all the same);
- `incomplete` when an adaptive attempt was submitted, or ran out of time, before the exam's
  `min_items` responses (`stop_reason` says which: `submitted` / `expired`). It keeps its θ,
  SE and scaled score — reported as such — but never counts: not the student's latest score,
  not in averages, percentile norm groups, dashboards or item statistics, and it gets no
  percentile itself (`attempt_incomplete`).
  A fixed form has no minimum: its unanswered items score 0, so the whole form is always
  scored and a fixed attempt is never `incomplete`.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mcproto.cat.v1 import cat_pb2 as pb
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.irt import eap
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.exam import snapshots
from services.exam.attempt_store import COUNTED_SQL, COUNTED_STATUSES, AttemptRow, answered, load_attempt
from services.exam.cat_client import CatSession, cat_unavailable
from services.exam.cat_settings import CatSettingsIn
from services.exam.settings import ExamSettings

log = get_logger("exam.scoring")
EVENT_COMPLETED = "exam.attempt.completed"
DEFAULT_MIN_NORM_GROUP = 30
# Why a percentile is null: the attempt is not scored yet, it is `incomplete` (never ranked), or
# the exam's norm group is smaller than the configured minimum.
PercentileUnavailable = Literal["in_progress", "attempt_incomplete", "norm_group_too_small"]
# Finalize reasons that can end an attempt before its minimum (CAT's own stop reasons cannot).
_EARLY_ENDS = ("submitted", "expired")


@dataclass(frozen=True)
class Score:
    theta: float
    se: float
    estimator: str
    stop_reason: str


async def fixed_score(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt: AttemptRow,
                      given: list[tuple[str, int]], *, form: list[str] | None = None) -> tuple[float, float]:
    snap = await snapshots.load(s, zone_id, org_id, attempt.bank_id, attempt.bank_version)
    scores = dict(given)
    ids = form if form is not None else [i for i, _ in given]
    ids = [i for i in ids if i in snap.params]
    est = eap([snap.params[i] for i in ids], [scores.get(i, 0) for i in ids], D=snap.scaling_constant)
    return est.theta, est.se


async def _score(res: Resources, ctx: TenantContext, attempt: AttemptRow, reason: str,
                 cat_state: pb.SessionState | None) -> tuple[Score, int]:
    assert ctx.org_id is not None
    async with tenant_transaction(res.db(), ctx) as s:
        given = await answered(s, ctx.zone_id, ctx.org_id, attempt)
        if attempt.kind == "fixed":
            theta, se = await fixed_score(s, ctx.zone_id, ctx.org_id, attempt, given,
                                          form=[str(i) for i in attempt.item_ids])
            return Score(theta, se, "eap", reason), len(given)
    state = cat_state
    if state is None:
        try:
            state = await CatSession(res, ctx.zone_id, ctx.org_id, attempt).finish(given)
        except AppError as err:
            if not cat_unavailable(err):
                raise
            log.warning("cat unavailable at scoring; scoring with exam EAP", attempt_id=str(attempt.id))
    if state is not None and len(state.responses) == len(given):
        return Score(state.theta, state.se, state.estimator or "eap",
                     state.stop_reason if state.stop_reason and state.stop_reason != "finish_called" else reason), \
            len(given)
    async with tenant_transaction(res.db(), ctx) as s:
        theta, se = await fixed_score(s, ctx.zone_id, ctx.org_id, attempt, given)
    return Score(theta, se, "eap_exam", reason), len(given)


async def finalize(res: Resources, ctx: TenantContext, attempt_id: uuid.UUID, *, reason: str,
                   cat_state: pb.SessionState | None = None) -> AttemptRow:
    """Score and close an in-progress attempt (idempotent: a closed one is returned as it is).

    reason: `submitted`, `expired`, or CAT's stop reason. Scoring happens outside any
    transaction (it may call CAT: Finish, and LoadBank/StartSession to rebuild a lost session);
    the write re-checks under a row lock that no response arrived meanwhile, and scores again if
    one did (409 `attempt.busy` after three tries)."""
    assert ctx.org_id is not None
    for _ in range(3):
        async with tenant_transaction(res.db(), ctx) as s:
            attempt = await load_attempt(s, ctx.zone_id, ctx.org_id, attempt_id)
        if attempt.status != "in_progress":
            return attempt
        score, n = await _score(res, ctx, attempt, reason, cat_state)
        async with tenant_transaction(res.db(), ctx) as s:
            current = await load_attempt(s, ctx.zone_id, ctx.org_id, attempt_id, lock=True)
            if current.status != "in_progress":
                return current
            if current.n_responses != n:
                cat_state = None
                continue  # a response landed while scoring: score again
            expired = reason == "expired"
            status = closing_status(current.kind, current.cat_settings, n, score.stop_reason, expired=expired)
            scale = (await s.execute(text(
                "SELECT scale_mean, scale_sd FROM exam.exams WHERE zone_id = :z AND org_id = :o AND id = :e"),
                {"z": ctx.zone_id, "o": ctx.org_id, "e": current.exam_id})).one()
            scaled = round(scale.scale_mean + scale.scale_sd * score.theta, 1)
            now = dt.datetime.now(dt.UTC)
            ended = min(now, current.deadline_at) if expired and current.deadline_at else now
            row = (await s.execute(text(
                "UPDATE exam.attempts SET status = :status, ended_at = :ended, theta = :theta, se = :se,"
                " scaled_score = :scaled, estimator = :estimator, stop_reason = :stop, pending_item_ids = '{}',"
                " updated_at = now() WHERE zone_id = :z AND org_id = :o AND id = :id AND started_at = :ts"
                " RETURNING id"),
                {"status": status, "ended": ended, "theta": score.theta, "se": score.se,
                 "scaled": scaled, "estimator": score.estimator, "stop": score.stop_reason, "z": ctx.zone_id,
                 "o": ctx.org_id, "id": attempt_id, "ts": current.started_at})).one()
            await s.execute(text(
                "DELETE FROM exam.active_attempts WHERE zone_id = :z AND org_id = :o AND exam_id = :e"
                " AND student_id = :st AND attempt_id = :id"),
                {"z": ctx.zone_id, "o": ctx.org_id, "e": current.exam_id, "st": current.student_id, "id": row.id})
            await add_event(s, "exam", EVENT_COMPLETED, {
                "attempt_id": str(attempt_id), "exam_id": str(current.exam_id), "student_id": str(current.student_id),
                "class_id": str(current.class_id) if current.class_id else None, "kind": current.kind,
                "status": status, "counted": status in COUNTED_STATUSES,
                "required_items": required_items(current.kind, current.cat_settings), "theta": score.theta, "se": score.se,
                "scaled_score": scaled, "raw_score": current.raw_score, "max_score": current.max_score,
                "responses": current.n_responses, "estimator": score.estimator, "stop_reason": score.stop_reason,
                "ended_at": ended}, zone_id=ctx.zone_id, org_id=ctx.org_id)
            return await load_attempt(s, ctx.zone_id, ctx.org_id, attempt_id)
    raise AppError(409, "attempt.busy", "responses keep arriving while the attempt is being finished; retry")


def required_items(kind: str, cat_settings: dict[str, Any] | str | None) -> int:
    """Responses an attempt needs for a complete score: an adaptive exam's `min_items` (the
    settings' default when unset; at least 1, as CAT's own stopping rule counts it); a fixed
    form none (unanswered items score 0)."""
    if kind != "adaptive":
        return 0
    doc = json.loads(cat_settings) if isinstance(cat_settings, str) else cat_settings or {}
    value = doc.get("min_items")
    return max(1, int(value) if value is not None else int(CatSettingsIn.model_fields["min_items"].default))


def closing_status(kind: str, cat_settings: dict[str, Any] | str | None, n: int, stop_reason: str, *,
                   expired: bool) -> str:
    """`incomplete` when the student (`submitted`) or the clock (`expired`) ended an adaptive
    attempt before its minimum; else `expired` or `completed`. A stop by CAT's own rule is
    complete: the engine gave all it could."""
    if stop_reason in _EARLY_ENDS and n < required_items(kind, cat_settings):
        return "incomplete"
    return "expired" if expired else "completed"


def min_norm_group(res: Resources) -> int:
    """The configured minimum norm group (`EXAM_MIN_NORM_GROUP`, at least 1)."""
    value = res.settings.min_norm_group if isinstance(res.settings, ExamSettings) else DEFAULT_MIN_NORM_GROUP
    return max(1, int(value))


@dataclass(frozen=True)
class Rank:
    """A θ's place in its exam's norm group: the percentile, or null and why."""

    percentile: float | None
    unavailable: PercentileUnavailable | None
    norm_group: int | None  # counted attempts of the exam in the org; None when not looked up


NOT_SCORED = Rank(None, "in_progress", None)


async def norm_ranks(s: AsyncSession, zone_id: int, org_id: uuid.UUID, scored: list[tuple[uuid.UUID, float]], *,
                     min_group: int) -> dict[tuple[uuid.UUID, float], Rank]:
    """Per (exam, θ): the percentile rank of θ within the org's counted attempts of the exam
    (ties half), or null with `norm_group_too_small` while that group has fewer than
    `min_group` attempts. Incomplete and in-progress attempts are never in a norm group."""
    keys = sorted(set(scored))
    if not keys:
        return {}
    rows = (await s.execute(text(
        "SELECT q.exam_id, q.theta, count(a.id) AS n, count(a.id) FILTER (WHERE a.theta < q.theta) AS below,"
        " count(a.id) FILTER (WHERE a.theta = q.theta) AS ties"
        " FROM unnest(CAST(:exams AS uuid[]), CAST(:thetas AS float8[])) AS q(exam_id, theta)"
        " LEFT JOIN exam.attempts a ON a.zone_id = :z AND a.org_id = :o AND a.exam_id = q.exam_id"
        f"  AND {COUNTED_SQL} AND a.theta IS NOT NULL"
        " GROUP BY q.exam_id, q.theta"),
        {"z": zone_id, "o": org_id, "exams": [e for e, _ in keys], "thetas": [t for _, t in keys]})).all()
    out: dict[tuple[uuid.UUID, float], Rank] = {}
    for r in rows:
        n = int(r.n)
        if n < min_group:
            out[(r.exam_id, r.theta)] = Rank(None, "norm_group_too_small", n)
        else:
            out[(r.exam_id, r.theta)] = Rank(round(100.0 * (r.below + 0.5 * r.ties) / n, 1), None, n)
    return out


def rank_of(ranks: dict[tuple[uuid.UUID, float], Rank], status: str, exam_id: uuid.UUID, theta: float | None) -> Rank:
    """The rank an attempt shows: none while in progress, none (`attempt_incomplete`, with its
    exam's norm group size) when incomplete, else its place in the norm group."""
    if status == "in_progress" or theta is None:
        return NOT_SCORED
    rank = ranks.get((exam_id, theta), Rank(None, "norm_group_too_small", 0))
    if status not in COUNTED_STATUSES:
        return Rank(None, "attempt_incomplete", rank.norm_group)
    return rank

