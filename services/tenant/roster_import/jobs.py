"""The import job: runs in the tenant process as an asyncio task, at most `MAX_CONCURRENT` at a
time per process (seed 004 §4: a hard concurrency limit, not unbounded workers).

While it runs, progress (status, step, processed, total, errors) goes to Redis through
`JobProgress` and nowhere else a poller could read; each chunk of `CHUNK_ROWS` rows is one
database transaction that also advances the import's counters. When it ends the import row
holds the result, `roster.import.completed` is in the outbox, and Redis keeps the final state.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.job_progress import JobProgress
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.tenant.roster_import.upsert import ClassCache, apply_chunk
from services.tenant.roster_import.workbook import RowReader, WorkbookInfo

log = get_logger("tenant.roster_import")

CHUNK_ROWS = 500
MAX_CONCURRENT = 2
KIND = "roster_import"


@dataclass(frozen=True)
class ImportJob:
    import_id: uuid.UUID
    ctx: TenantContext  # the importer's tenant context (zone, org, role, user)
    path: Path
    info: WorkbookInfo

    @property
    def zone_id(self) -> int:
        return self.ctx.zone_id

    @property
    def org_id(self) -> uuid.UUID:
        assert self.ctx.org_id is not None
        return self.ctx.org_id


class ImportRunner:
    """Owns the running import tasks of this process (so they are not garbage-collected, and
    shutdown can wait for them)."""

    def __init__(self, res: Resources, *, chunk_rows: int = CHUNK_ROWS, max_concurrent: int = MAX_CONCURRENT) -> None:
        self.res = res
        self.chunk_rows = chunk_rows
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: set[asyncio.Task] = set()

    def progress(self) -> JobProgress:
        return JobProgress(self.res.redis, self.res.keys)

    def start(self, job: ImportJob) -> asyncio.Task:
        task = asyncio.create_task(self.run(job), name=f"roster-import-{job.import_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_idle(self, timeout: float | None = None) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def run(self, job: ImportJob) -> None:
        progress = self.progress()
        try:
            async with self._slots:
                await self._run(job, progress)
        except Exception as exc:  # noqa: BLE001 - any failure ends the job as failed, with a reason
            reason = exc.detail if isinstance(exc, AppError) else f"internal error ({type(exc).__name__})"
            if not isinstance(exc, AppError):
                log.exception("roster import failed", import_id=str(job.import_id))
            await self._fail(job, progress, reason)
        finally:
            with contextlib.suppress(OSError):
                job.path.unlink()

    async def _run(self, job: ImportJob, progress: JobProgress) -> None:
        started = time.perf_counter()
        total = job.info.total_rows
        sessions = self.res.db()
        async with tenant_transaction(sessions, job.ctx) as s:
            await s.execute(text("UPDATE tenant.roster_imports SET status = 'running', started_at = now()"
                                 " WHERE zone_id = :z AND org_id = :o AND id = :id"),
                            {"z": job.zone_id, "o": job.org_id, "id": job.import_id})
        await progress.update(job.zone_id, job.org_id, job.import_id, step="reading", processed=0, total=total,
                              errors=0)
        reader = await asyncio.to_thread(RowReader, job.path, job.info)
        classes = ClassCache()
        totals = {"created": 0, "updated": 0, "restored": 0, "unchanged": 0, "errors": 0, "rows": 0}
        consumed = 0
        pending: asyncio.Task | None = None
        try:
            # Read chunk n+1 (in a thread) while chunk n is written: parsing and the database overlap.
            pending = asyncio.create_task(asyncio.to_thread(reader.next_chunk, self.chunk_rows))
            while pending is not None:
                chunk = await pending
                pending = None if chunk.last else asyncio.create_task(
                    asyncio.to_thread(reader.next_chunk, self.chunk_rows))
                consumed = chunk.consumed
                if not chunk.rows:
                    continue
                async with tenant_transaction(sessions, job.ctx) as s:
                    result = await apply_chunk(s, job.zone_id, job.org_id, job.import_id, chunk.rows,
                                               has_class="class" in job.info.columns, classes=classes,
                                               processed=consumed)
                for name in ("created", "updated", "restored", "unchanged", "rows"):
                    totals[name] += getattr(result, name)
                totals["errors"] += result.bad_rows
                await progress.update(job.zone_id, job.org_id, job.import_id, step="importing",
                                      processed=consumed, total=max(total or 0, consumed), errors=totals["errors"])
        except BaseException:
            if pending is not None:
                with contextlib.suppress(BaseException):
                    await pending  # never close the workbook under a running read
            raise
        finally:
            reader.close()
        async with tenant_transaction(sessions, job.ctx) as s:
            await s.execute(text(
                "UPDATE tenant.roster_imports SET status = 'succeeded', finished_at = now(), total_rows = :total,"
                " processed_rows = :total WHERE zone_id = :z AND org_id = :o AND id = :id"),
                {"z": job.zone_id, "o": job.org_id, "id": job.import_id, "total": consumed})
            await add_event(s, "tenant", "roster.import.completed", {
                "import_id": str(job.import_id), "org_id": str(job.org_id), "status": "succeeded",
                "rows": totals["rows"], "created": totals["created"], "updated": totals["updated"],
                "restored": totals["restored"], "unchanged": totals["unchanged"], "error_rows": totals["errors"]},
                zone_id=job.zone_id, org_id=job.org_id)
        await progress.update(job.zone_id, job.org_id, job.import_id, step="done", processed=consumed,
                              total=consumed, errors=totals["errors"])
        await progress.finish(job.zone_id, job.org_id, job.import_id, status="succeeded", errors=totals["errors"])
        log.info("roster import done", import_id=str(job.import_id), seconds=round(time.perf_counter() - started, 2),
                 **totals)

    async def _fail(self, job: ImportJob, progress: JobProgress, reason: str) -> None:
        try:
            async with tenant_transaction(self.res.db(), job.ctx) as s:
                await s.execute(text(
                    "UPDATE tenant.roster_imports SET status = 'failed', finished_at = now(), error = :error"
                    " WHERE zone_id = :z AND org_id = :o AND id = :id"),
                    {"z": job.zone_id, "o": job.org_id, "id": job.import_id, "error": reason[:1000]})
                await add_event(s, "tenant", "roster.import.completed", {
                    "import_id": str(job.import_id), "org_id": str(job.org_id), "status": "failed", "error": reason},
                    zone_id=job.zone_id, org_id=job.org_id)
        finally:
            await progress.finish(job.zone_id, job.org_id, job.import_id, status="failed", error=reason[:1000])
