"""SQL of taking an exam: the one-active-attempt claim, the attempt row, storing a response and
the next item. Rows come back typed."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.exam.attempt_store import ShownItem


@dataclass(frozen=True)
class ActiveClaim:
    attempt_id: uuid.UUID
    deadline_at: dt.datetime | None


@dataclass(frozen=True)
class NewAttempt:
    id: uuid.UUID
    exam_id: uuid.UUID
    student_id: uuid.UUID
    class_id: uuid.UUID | None
    kind: str
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    bank_id: uuid.UUID
    bank_version: int
    seed: int
    cat_settings: dict[str, Any] | None
    form: list[uuid.UUID]  # fixed: the items, in order (all pending); adaptive: empty


@dataclass(frozen=True)
class LockedForResponse:
    """The attempt (locked), whether the item waits for an answer, an answer already stored,
    and the item's scoring fields."""

    id: uuid.UUID
    exam_id: uuid.UUID
    student_id: uuid.UUID
    kind: str
    status: str
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    bank_id: uuid.UUID
    bank_version: int
    seed: int
    cat_settings: dict[str, Any] | None
    n_responses: int
    current_id: uuid.UUID | None
    is_pending: bool
    prior_answer: str | None
    model: str | None
    options: list[dict[str, str]] | None
    answer_key: str | None
    option_scores: dict[str, int] | None
    item_max_score: int | None


@dataclass(frozen=True)
class StoredResponse:
    n_responses: int
    next_item: ShownItem | None  # the next item of a fixed form


@dataclass(frozen=True)
class CatStep:
    """What CAT said next: the item(s) to give and θ so far."""

    pending: list[str]
    theta: float
    se: float
    estimator: str


async def active_claim(s: AsyncSession, zone_id: int, org_id: uuid.UUID, exam_id: uuid.UUID,
                       student_id: uuid.UUID) -> ActiveClaim | None:
    row = (await s.execute(text(
        "SELECT attempt_id, deadline_at FROM exam.active_attempts WHERE zone_id = :z AND org_id = :o"
        " AND exam_id = :e AND student_id = :st"), {"z": zone_id, "o": org_id, "e": exam_id, "st": student_id})).first()
    return ActiveClaim(row.attempt_id, row.deadline_at) if row is not None else None


async def claim_active(s: AsyncSession, zone_id: int, org_id: uuid.UUID, exam_id: uuid.UUID,
                       student_id: uuid.UUID, attempt_id: uuid.UUID, started_at: dt.datetime,
                       deadline_at: dt.datetime | None) -> bool:
    """Take the one in-progress slot of (exam, student); False when another attempt holds it."""
    claimed = (await s.execute(text(
        "INSERT INTO exam.active_attempts (zone_id, org_id, exam_id, student_id, attempt_id, started_at, deadline_at)"
        " VALUES (:z, :o, :e, :st, :id, :ts, :deadline) ON CONFLICT DO NOTHING RETURNING attempt_id"),
        {"z": zone_id, "o": org_id, "e": exam_id, "st": student_id, "id": attempt_id, "ts": started_at,
         "deadline": deadline_at})).first()
    return claimed is not None


async def count_attempts(s: AsyncSession, zone_id: int, org_id: uuid.UUID, exam_id: uuid.UUID,
                         student_id: uuid.UUID) -> int:
    n: int = (await s.execute(text(
        "SELECT count(*) FROM exam.attempts WHERE zone_id = :z AND org_id = :o AND student_id = :st"
        " AND exam_id = :e"), {"z": zone_id, "o": org_id, "st": student_id, "e": exam_id})).scalar_one()
    return n


async def insert_attempt(s: AsyncSession, zone_id: int, org_id: uuid.UUID, a: NewAttempt) -> None:
    cat = None if a.cat_settings is None else (
        a.cat_settings if isinstance(a.cat_settings, str) else json.dumps(a.cat_settings))
    await s.execute(text(
        "INSERT INTO exam.attempts (id, zone_id, org_id, exam_id, student_id, class_id, kind, started_at,"
        " deadline_at, bank_id, bank_version, seed, cat_settings, item_ids, pending_item_ids)"
        " VALUES (:id, :z, :o, :e, :st, :class_id, :kind, :ts, :deadline, :bank, :version, :seed,"
        " CAST(:cat AS jsonb), :form, :form)"),
        {"id": a.id, "z": zone_id, "o": org_id, "e": a.exam_id, "st": a.student_id, "class_id": a.class_id,
         "kind": a.kind, "ts": a.started_at, "deadline": a.deadline_at, "bank": a.bank_id, "version": a.bank_version,
         "seed": a.seed, "cat": cat, "form": a.form})


async def store_first_item(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt_id: uuid.UUID,
                           started_at: dt.datetime, step: CatStep) -> bool:
    """Give an adaptive attempt its first item, only if it has none yet (no item pending, no
    response, in progress). False when another request got there first or it has ended."""
    row = (await s.execute(text(
        "UPDATE exam.attempts SET pending_item_ids = CAST(:pending AS uuid[]), theta = :theta, se = :se,"
        " estimator = :estimator, updated_at = now()"
        " WHERE zone_id = :z AND org_id = :o AND id = :id AND started_at = :ts AND status = 'in_progress'"
        " AND n_responses = 0 AND cardinality(pending_item_ids) = 0 RETURNING id"),
        {"pending": step.pending, "theta": step.theta, "se": step.se, "estimator": step.estimator, "z": zone_id,
         "o": org_id, "id": attempt_id, "ts": started_at})).first()
    return row is not None


async def release_unstarted(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt_id: uuid.UUID,
                            started_at: dt.datetime) -> bool:
    """Remove an adaptive attempt that never got its first item (and its active claim), so that a
    failed start leaves nothing behind. False (nothing removed) once it has an item or a response."""
    gone = (await s.execute(text(
        "DELETE FROM exam.attempts WHERE zone_id = :z AND org_id = :o AND id = :id AND started_at = :ts"
        " AND status = 'in_progress' AND n_responses = 0 AND cardinality(pending_item_ids) = 0 RETURNING exam_id,"
        " student_id"), {"z": zone_id, "o": org_id, "id": attempt_id, "ts": started_at})).first()
    if gone is None:
        return False
    await s.execute(text(
        "DELETE FROM exam.active_attempts WHERE zone_id = :z AND org_id = :o AND exam_id = :e AND student_id = :st"
        " AND attempt_id = :id"), {"z": zone_id, "o": org_id, "e": gone.exam_id, "st": gone.student_id,
                                   "id": attempt_id})
    return True


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


async def lock_for_response(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt_id: uuid.UUID,
                            started_at: dt.datetime, item_id: uuid.UUID) -> LockedForResponse | None:
    row = (await s.execute(_LOCK_FOR_RESPONSE, {"z": zone_id, "o": org_id, "a": attempt_id, "ts": started_at,
                                                "i": item_id})).first()
    return LockedForResponse(**row._mapping) if row is not None else None


async def store_response(s: AsyncSession, zone_id: int, org_id: uuid.UUID, a: LockedForResponse,
                         item_id: uuid.UUID, answer: str, score: int) -> StoredResponse:
    """Insert the response as the attempt's next one and take the item off the pending list."""
    row = (await s.execute(_STORE_RESPONSE, {
        "z": zone_id, "o": org_id, "a": a.id, "ts": a.started_at, "seq": a.n_responses + 1, "i": item_id,
        "answer": answer, "score": score, "max": a.item_max_score})).one()
    nxt = ShownItem(id=row.next_id, stem=row.next_stem, options=row.next_options or [],
                    max_score=row.next_max_score) if row.next_stem is not None else None
    return StoredResponse(row.n_responses, nxt)


async def store_next(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt_id: uuid.UUID,
                     started_at: dt.datetime, step: CatStep, n: int) -> tuple[bool, ShownItem | None]:
    """Store CAT's next item and θ on the attempt, unless newer responses got there first (it
    must still have exactly `n` responses and be in progress); and read the item to show (one
    round trip)."""
    row = (await s.execute(text(
        "WITH upd AS (UPDATE exam.attempts SET pending_item_ids = CAST(:pending AS uuid[]), theta = :theta, se = :se,"
        "  estimator = :estimator, updated_at = now()"
        "  WHERE zone_id = :z AND org_id = :o AND id = :id AND started_at = :ts AND n_responses = :n"
        "  AND status = 'in_progress' RETURNING id)"
        " SELECT (SELECT count(*) FROM upd) AS updated, i.id, i.stem, i.options, i.max_score"
        " FROM (SELECT 1) one LEFT JOIN exam.items i ON i.zone_id = :z AND i.org_id = :o"
        "  AND i.id = CAST(:first AS uuid)"),
        {"pending": step.pending, "theta": step.theta, "se": step.se, "estimator": step.estimator,
         "z": zone_id, "o": org_id, "id": attempt_id, "ts": started_at, "n": n,
         "first": step.pending[0] if step.pending else None})).one()
    view = ShownItem(id=row.id, stem=row.stem, options=row.options or [], max_score=row.max_score) \
        if row.id is not None else None
    return row.updated == 1, view
