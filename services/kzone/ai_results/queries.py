"""SQL of storing AI job results (`kzone.kzone_ai_results`) and moving jobs on
(`kzone.kzone_ai_jobs`), under the job's tenant context."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.events.envelope import dumps


@dataclass(frozen=True)
class ResultJob:
    """A job as the result handler needs it (locked FOR UPDATE)."""

    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID
    owner_id: uuid.UUID
    kind: str
    status: str
    params: dict[str, Any] | None
    input_media_id: uuid.UUID | None
    reference_media_id: uuid.UUID | None
    parent_job_id: uuid.UUID | None


@dataclass(frozen=True)
class ParentJob:
    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID
    status: str


async def job_for_update(session: AsyncSession, job_id: uuid.UUID) -> ResultJob | None:
    row = (await session.execute(text(
        "SELECT id, zone_id, org_id, owner_id, kind, status, params, input_media_id, reference_media_id,"
        " parent_job_id FROM kzone.kzone_ai_jobs WHERE id = :id FOR UPDATE"), {"id": job_id})).first()
    return ResultJob(**row._mapping) if row is not None else None


async def parent_for_update(session: AsyncSession, job_id: uuid.UUID) -> ParentJob | None:
    row = (await session.execute(text(
        "SELECT id, zone_id, org_id, status FROM kzone.kzone_ai_jobs WHERE id = :id FOR UPDATE"),
        {"id": job_id})).first()
    return ParentJob(**row._mapping) if row is not None else None


async def result_exists(session: AsyncSession, job_id: uuid.UUID) -> bool:
    return (await session.execute(text("SELECT 1 FROM kzone.kzone_ai_results WHERE job_id = :id"),
                                  {"id": job_id})).first() is not None


async def insert_result(session: AsyncSession, job: ResultJob, event_id: str, status: str, *, result: Any = None,
                        error: str | None = None, result_key: str | None = None) -> bool:
    """The job's one result row; False when it already had one."""
    inserted = (await session.execute(text(
        "INSERT INTO kzone.kzone_ai_results (job_id, zone_id, org_id, kind, status, result, error, result_key,"
        " event_id) VALUES (:job, :zone, :org, :kind, :status, CAST(:result AS jsonb), :error, :key, :event)"
        " ON CONFLICT (job_id) DO NOTHING RETURNING id"),
        {"job": job.id, "zone": job.zone_id, "org": job.org_id, "kind": job.kind, "status": status,
         "result": dumps(result) if result is not None else None, "error": error, "key": result_key,
         "event": event_id})).first()
    return inserted is not None


async def merge_into_result(session: AsyncSession, job_id: uuid.UUID, patch: dict[str, Any]) -> None:
    """Add `patch`'s keys to the stored result document."""
    await session.execute(text(
        "UPDATE kzone.kzone_ai_results SET result = result || CAST(:patch AS jsonb), updated_at = now()"
        " WHERE job_id = :id"), {"patch": json.dumps(patch), "id": job_id})


async def set_job_status(session: AsyncSession, job_id: uuid.UUID, status: str, error: str | None = None) -> None:
    """`finished_at` is set when the job succeeded or failed."""
    finished = status in ("succeeded", "failed")
    await session.execute(text(
        "UPDATE kzone.kzone_ai_jobs SET status = :status, error = :error,"
        " finished_at = CASE WHEN :finished THEN now() ELSE finished_at END WHERE id = :id"),
        {"status": status, "error": error, "finished": finished, "id": job_id})


async def mark_cancelled(session: AsyncSession, job_id: uuid.UUID) -> None:
    await session.execute(text(
        "UPDATE kzone.kzone_ai_jobs SET status = 'cancelled', finished_at = now(), error = 'cancelled'"
        " WHERE id = :id"), {"id": job_id})
