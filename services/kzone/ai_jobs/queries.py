"""SQL of AI jobs (`kzone.kzone_ai_jobs`), their results as the job endpoints read them
(`kzone.kzone_ai_results`) and their media (`kzone.kzone_media`)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.events.envelope import dumps


@dataclass(frozen=True)
class JobRow:
    id: uuid.UUID
    kind: str
    status: str
    owner_id: uuid.UUID
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    parent_job_id: uuid.UUID | None
    params: dict[str, Any] | None
    input_media_id: uuid.UUID | None
    reference_media_id: uuid.UUID | None


@dataclass(frozen=True)
class MediaRefRow:
    id: uuid.UUID
    media_kind: str
    content_type: str
    size_bytes: int
    storage_key: str


@dataclass(frozen=True)
class ResultRow:
    kind: str
    status: str
    result: dict[str, Any] | None
    error: str | None
    result_key: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class JobEnd:
    """A job's status and how it ended (cancelled or not)."""

    org_id: uuid.UUID
    status: str
    finished_at: dt.datetime | None
    cancelled_by: uuid.UUID | None


async def insert_job(session: AsyncSession, *, job_id: uuid.UUID, zone_id: int, org_id: uuid.UUID,
                     owner_id: uuid.UUID, kind: str, input_media_id: uuid.UUID | None,
                     reference_media_id: uuid.UUID | None, parent_job_id: uuid.UUID | None,
                     params: dict[str, Any]) -> None:
    await session.execute(text(
        "INSERT INTO kzone.kzone_ai_jobs (id, zone_id, org_id, owner_id, kind, input_media_id, reference_media_id,"
        " parent_job_id, params) VALUES (:id, :zone, :org, :owner, :kind, :input, :reference, :parent,"
        " CAST(:params AS jsonb))"),
        {"id": job_id, "zone": zone_id, "org": org_id, "owner": owner_id, "kind": kind, "input": input_media_id,
         "reference": reference_media_id, "parent": parent_job_id, "params": dumps(params)})


async def job(session: AsyncSession, job_id: uuid.UUID) -> JobRow | None:
    row = (await session.execute(text(
        "SELECT id, kind, status, owner_id, created_at, finished_at, error, parent_job_id, params, input_media_id,"
        " reference_media_id FROM kzone.kzone_ai_jobs WHERE id = :id"), {"id": job_id})).first()
    return JobRow(**row._mapping) if row is not None else None


async def has_result(session: AsyncSession, job_id: uuid.UUID) -> bool:
    return (await session.execute(text("SELECT 1 FROM kzone.kzone_ai_results WHERE job_id = :id"),
                                  {"id": job_id})).first() is not None


async def media_ref(session: AsyncSession, media_id: uuid.UUID) -> MediaRefRow | None:
    row = (await session.execute(text(
        "SELECT id, media_kind, content_type, size_bytes, storage_key FROM kzone.kzone_media WHERE id = :id"),
        {"id": media_id})).first()
    return MediaRefRow(**row._mapping) if row is not None else None


async def result(session: AsyncSession, job_id: uuid.UUID) -> ResultRow | None:
    row = (await session.execute(text(
        "SELECT kind, status, result, error, result_key, created_at FROM kzone.kzone_ai_results"
        " WHERE job_id = :id"), {"id": job_id})).first()
    return ResultRow(**row._mapping) if row is not None else None


async def cancel_running(session: AsyncSession, job_id: uuid.UUID, by: uuid.UUID) -> JobEnd | None:
    """Cancel the job if it is queued or processing; None if it was not."""
    row = (await session.execute(text(
        "UPDATE kzone.kzone_ai_jobs SET status = 'cancelled', cancelled_by = :by, finished_at = now(),"
        " error = 'cancelled' WHERE id = :id AND status IN ('queued', 'processing')"
        " RETURNING org_id, status, finished_at, cancelled_by"), {"id": job_id, "by": by})).first()
    return JobEnd(**row._mapping) if row is not None else None


async def job_end(session: AsyncSession, job_id: uuid.UUID) -> JobEnd | None:
    row = (await session.execute(text(
        "SELECT org_id, status, finished_at, cancelled_by FROM kzone.kzone_ai_jobs WHERE id = :id"),
        {"id": job_id})).first()
    return JobEnd(**row._mapping) if row is not None else None
