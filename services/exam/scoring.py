"""Finishing an attempt: θ, SE, scaled score; percentiles within the org.

- Adaptive: θ and SE are the CAT session's final estimate (the exam's estimator). If CAT cannot
  be reached, the exam scores the stored responses itself with EAP on the attempt's frozen bank
  version (estimator `eap_exam`), so a submit never waits on CAT.
- Fixed: EAP (N(0, 1) prior, 81-point grid on −4..4) with the same IRT models, on the frozen
  bank version; an unanswered item of the form counts as score 0.
- Scaled score = exam.scale_mean + exam.scale_sd · θ.
- Percentile (computed when read, so it follows the population): the share of the org's scored
  attempts of the same exam below this θ, ties counted half.

Status: `completed` when submitted or when CAT's stopping rule ended the test; `expired` when
the time limit ran out first (it is scored all the same).
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

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
from services.exam.attempt_store import AttemptRow, answered, load_attempt
from services.exam.cat_client import CatSession, cat_unavailable

log = get_logger("exam.scoring")
EVENT_COMPLETED = "exam.attempt.completed"


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
                {"status": "expired" if expired else "completed", "ended": ended, "theta": score.theta, "se": score.se,
                 "scaled": scaled, "estimator": score.estimator, "stop": score.stop_reason, "z": ctx.zone_id,
                 "o": ctx.org_id, "id": attempt_id, "ts": current.started_at})).one()
            await s.execute(text(
                "DELETE FROM exam.active_attempts WHERE zone_id = :z AND org_id = :o AND exam_id = :e"
                " AND student_id = :st AND attempt_id = :id"),
                {"z": ctx.zone_id, "o": ctx.org_id, "e": current.exam_id, "st": current.student_id, "id": row.id})
            await add_event(s, "exam", EVENT_COMPLETED, {
                "attempt_id": str(attempt_id), "exam_id": str(current.exam_id), "student_id": str(current.student_id),
                "class_id": str(current.class_id) if current.class_id else None, "kind": current.kind,
                "status": "expired" if expired else "completed", "theta": score.theta, "se": score.se,
                "scaled_score": scaled, "raw_score": current.raw_score, "max_score": current.max_score,
                "responses": current.n_responses, "estimator": score.estimator, "stop_reason": score.stop_reason,
                "ended_at": ended}, zone_id=ctx.zone_id, org_id=ctx.org_id)
            return await load_attempt(s, ctx.zone_id, ctx.org_id, attempt_id)
    raise AppError(409, "attempt.busy", "responses keep arriving while the attempt is being finished; retry")


async def percentiles(s: AsyncSession, zone_id: int, org_id: uuid.UUID,
                      scored: list[tuple[uuid.UUID, float]]) -> dict[tuple[uuid.UUID, float], float]:
    """Percentile rank of θ within the org's scored attempts of the same exam, per (exam, θ)."""
    if not scored:
        return {}
    rows = (await s.execute(text(
        "SELECT q.exam_id, q.theta, 100.0 * (count(*) FILTER (WHERE a.theta < q.theta)"
        "  + 0.5 * count(*) FILTER (WHERE a.theta = q.theta)) / count(*) AS pct"
        " FROM unnest(CAST(:exams AS uuid[]), CAST(:thetas AS float8[])) AS q(exam_id, theta)"
        " JOIN exam.attempts a ON a.zone_id = :z AND a.org_id = :o AND a.exam_id = q.exam_id"
        "  AND a.status IN ('completed', 'expired') AND a.theta IS NOT NULL"
        " GROUP BY q.exam_id, q.theta"),
        {"z": zone_id, "o": org_id, "exams": [e for e, _ in scored], "thetas": [t for _, t in scored]})).all()
    return {(r.exam_id, r.theta): round(float(r.pct), 1) for r in rows}
