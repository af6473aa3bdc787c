"""Attempts as stored: the typed attempt row, reading it by id (one monthly partition, see
`ids`), its responses, the deadline rule, the items shown in it (no key, no parameters), and
which statuses count. Shared by the attempts feature, scoring, reports, analytics and the
expiry sweep."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.errors import AppError
from services.exam.ids import started_at_of

ATTEMPT_COLUMNS = ("id, exam_id, student_id, class_id, kind, status, started_at, deadline_at, ended_at, bank_id,"
                   " bank_version, seed, cat_settings, item_ids, pending_item_ids, n_responses, raw_score, max_score,"
                   " theta, se, scaled_score, estimator, stop_reason")
# The statuses whose score counts: the student's latest score, averages, percentile norm groups,
# dashboards and item statistics use these attempts only. `incomplete` (an adaptive attempt that
# ended before its minimum number of items) is reported with its θ and SE but never counted.
COUNTED_STATUSES = ("completed", "expired")
COUNTED_SQL = "a.status IN ('completed', 'expired')"  # for queries that alias exam.attempts as `a`
# Late answers within this many seconds of the deadline still count (network latency).
GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class AttemptRow:
    """One row of `exam.attempts`."""

    id: uuid.UUID
    exam_id: uuid.UUID
    student_id: uuid.UUID
    class_id: uuid.UUID | None
    kind: str  # fixed | adaptive
    status: str  # in_progress | completed | expired | incomplete (see COUNTED_STATUSES)
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    ended_at: dt.datetime | None
    bank_id: uuid.UUID
    bank_version: int
    seed: int
    cat_settings: dict[str, Any] | None
    item_ids: list[uuid.UUID]
    pending_item_ids: list[uuid.UUID]
    n_responses: int
    raw_score: int
    max_score: int
    theta: float | None
    se: float | None
    scaled_score: float | None
    estimator: str | None
    stop_reason: str | None


@dataclass(frozen=True)
class ShownItem:
    """An item as the student sees it: stem, options and top score; never its key or parameters."""

    id: uuid.UUID
    stem: str
    options: list[dict[str, str]]
    max_score: int


class Timed(Protocol):
    @property
    def deadline_at(self) -> dt.datetime | None: ...


class TimedStatus(Timed, Protocol):
    @property
    def status(self) -> str: ...


class Stored(Protocol):
    """What identifies an attempt's rows: its id and start time (the partition key)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def started_at(self) -> dt.datetime: ...


def not_found(attempt_id: object) -> AppError:
    return AppError(404, "attempt.not_found", f"attempt {attempt_id} does not exist or is not yours")


async def load_attempt(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt_id: uuid.UUID, *,
                       lock: bool = False) -> AttemptRow:
    started = started_at_of(attempt_id)
    if started is None:
        raise not_found(attempt_id)
    row = (await s.execute(text(
        f"SELECT {ATTEMPT_COLUMNS} FROM exam.attempts WHERE zone_id = :z AND org_id = :o AND id = :id"
        " AND started_at = :ts" + (" FOR UPDATE" if lock else "")),
        {"z": zone_id, "o": org_id, "id": attempt_id, "ts": started})).first()
    if row is None:
        raise not_found(attempt_id)
    return AttemptRow(**row._mapping)


def past_deadline(attempt: Timed, now: dt.datetime | None = None, grace: float = GRACE_SECONDS) -> bool:
    if attempt.deadline_at is None:
        return False
    now = now or dt.datetime.now(dt.UTC)
    return now > attempt.deadline_at + dt.timedelta(seconds=grace)


def remaining_seconds(attempt: TimedStatus) -> float | None:
    if attempt.deadline_at is None or attempt.status != "in_progress":
        return None
    return max(0.0, (attempt.deadline_at - dt.datetime.now(dt.UTC)).total_seconds())


async def answered(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt: Stored) -> list[tuple[str, int]]:
    """(item id, score) of every stored response, in the order given."""
    rows = (await s.execute(text(
        "SELECT item_id, score FROM exam.responses WHERE zone_id = :z AND org_id = :o AND attempt_id = :a"
        " AND attempt_started_at = :ts ORDER BY seq"),
        {"z": zone_id, "o": org_id, "a": attempt.id, "ts": attempt.started_at})).all()
    return [(str(r.item_id), int(r.score)) for r in rows]


async def shown_items(s: AsyncSession, zone_id: int, org_id: uuid.UUID, item_ids: list[uuid.UUID]) -> list[ShownItem]:
    if not item_ids:
        return []
    rows = {r.id: r for r in (await s.execute(text(
        "SELECT id, stem, options, max_score FROM exam.items WHERE zone_id = :z AND org_id = :o AND id = ANY(:ids)"),
        {"z": zone_id, "o": org_id, "ids": list(item_ids)})).all()}
    return [ShownItem(id=r.id, stem=r.stem, options=r.options or [], max_score=r.max_score)
            for i in item_ids if (r := rows.get(i)) is not None]
