"""Reading and locking attempts, their responses and the items shown in them."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.errors import AppError
from services.exam.ids import started_at_of
from services.exam.item_fields import ItemOption

ATTEMPT_COLUMNS = ("id, exam_id, student_id, class_id, kind, status, started_at, deadline_at, ended_at, bank_id,"
                   " bank_version, seed, cat_settings, item_ids, pending_item_ids, n_responses, raw_score, max_score,"
                   " theta, se, scaled_score, estimator, stop_reason")
# Late answers within this many seconds of the deadline still count (network latency).
GRACE_SECONDS = 2.0


def not_found(attempt_id: object) -> AppError:
    return AppError(404, "attempt.not_found", f"attempt {attempt_id} does not exist or is not yours")


async def load_attempt(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt_id: uuid.UUID, *,
                       lock: bool = False) -> Any:
    started = started_at_of(attempt_id)
    if started is None:
        raise not_found(attempt_id)
    row = (await s.execute(text(
        f"SELECT {ATTEMPT_COLUMNS} FROM exam.attempts WHERE zone_id = :z AND org_id = :o AND id = :id"
        " AND started_at = :ts" + (" FOR UPDATE" if lock else "")),
        {"z": zone_id, "o": org_id, "id": attempt_id, "ts": started})).first()
    if row is None:
        raise not_found(attempt_id)
    return row


def past_deadline(attempt: Any, now: dt.datetime | None = None, grace: float = GRACE_SECONDS) -> bool:
    if attempt.deadline_at is None:
        return False
    now = now or dt.datetime.now(dt.UTC)
    return now > attempt.deadline_at + dt.timedelta(seconds=grace)


def remaining_seconds(attempt: Any) -> float | None:
    if attempt.deadline_at is None or attempt.status != "in_progress":
        return None
    return max(0.0, (attempt.deadline_at - dt.datetime.now(dt.UTC)).total_seconds())


async def answered(s: AsyncSession, zone_id: int, org_id: uuid.UUID, attempt: Any) -> list[tuple[str, int]]:
    """(item id, score) of every stored response, in the order given."""
    rows = (await s.execute(text(
        "SELECT item_id, score FROM exam.responses WHERE zone_id = :z AND org_id = :o AND attempt_id = :a"
        " AND attempt_started_at = :ts ORDER BY seq"),
        {"z": zone_id, "o": org_id, "a": attempt.id, "ts": attempt.started_at})).all()
    return [(str(r.item_id), int(r.score)) for r in rows]


class ItemView(BaseModel):
    """An item as the student sees it: no key, no parameters."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "stem": "Solve for x: 2x + 3 = 11",
        "options": [{"key": "A", "text": "3"}, {"key": "B", "text": "4"}], "max_score": 1}]})

    id: uuid.UUID
    stem: str
    options: list[ItemOption]
    max_score: int = Field(description="1 for right/wrong items; the top category for partial-credit items")


async def item_views(s: AsyncSession, zone_id: int, org_id: uuid.UUID, item_ids: list[uuid.UUID]) -> list[ItemView]:
    if not item_ids:
        return []
    rows = {r.id: r for r in (await s.execute(text(
        "SELECT id, stem, options, max_score FROM exam.items WHERE zone_id = :z AND org_id = :o AND id = ANY(:ids)"),
        {"z": zone_id, "o": org_id, "ids": list(item_ids)})).all()}
    return [ItemView(id=r.id, stem=r.stem, options=r.options or [], max_score=r.max_score)
            for i in item_ids if (r := rows.get(i)) is not None]
