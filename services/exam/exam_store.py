"""Exams as stored: the typed exam row and reading one by id — shared by the exams feature,
attempts (starting one) and analytics (the criterion of its item statistics)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.errors import AppError

EXAM_COLUMNS = ("id, title, description, kind, status, bank_id, item_ids, time_limit_seconds, cat_settings, scale_mean,"
                " scale_sd, class_id, max_attempts, created_by, created_at, updated_at, published_at, archived_at")


@dataclass(frozen=True)
class ExamRow:
    """One row of `exam.exams`."""

    id: uuid.UUID
    title: str
    description: str
    kind: str  # fixed | adaptive
    status: str  # draft | published | archived
    bank_id: uuid.UUID
    item_ids: list[uuid.UUID]
    time_limit_seconds: int | None
    cat_settings: dict[str, Any] | None
    scale_mean: float
    scale_sd: float
    class_id: uuid.UUID | None
    max_attempts: int | None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    published_at: dt.datetime | None
    archived_at: dt.datetime | None


def exam_row(row: Any) -> ExamRow:
    doc = dict(row._mapping)
    doc["item_ids"] = list(doc["item_ids"] or [])
    return ExamRow(**doc)


def exam_not_found(exam_id: uuid.UUID) -> AppError:
    return AppError(404, "exam.not_found", f"exam {exam_id} does not exist in your org")


async def load_exam(s: AsyncSession, zone_id: int, org: uuid.UUID, exam_id: uuid.UUID, *,
                    lock: Literal["", "SHARE", "UPDATE"] = "") -> ExamRow:
    row = (await s.execute(text(f"SELECT {EXAM_COLUMNS} FROM exam.exams WHERE zone_id = :z AND org_id = :o AND id = :id"
                                + (f" FOR {lock}" if lock else "")), {"z": zone_id, "o": org, "id": exam_id})).first()
    if row is None:
        raise exam_not_found(exam_id)
    return exam_row(row)
