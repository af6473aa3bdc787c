"""The import job: runs in the tenant process as an asyncio task, at most `MAX_CONCURRENT` at a
time per process (seed 004 §4: a hard concurrency limit, not unbounded workers).

While it runs, progress (status, step, processed, total, errors) goes to Redis through
`JobProgress` and nowhere else a poller could read; each chunk of `CHUNK_ROWS` rows is one
database transaction that also advances the import's counters. When it ends the import row
holds the result, `roster.import.completed` is in the outbox, and Redis keeps the final state.

The uploaded file lives only on the importing process's disk, so an import cannot move to
another replica. Instead nothing stays `running` for ever: the runner touches `heartbeat_at` of
the imports it holds every `HEARTBEAT_SECONDS`; every replica sweeps, each `SWEEP_SECONDS`,
unfinished imports whose heartbeat is older than `STALE_AFTER_SECONDS` (their process died) and
ends them as failed, with a reason that says to upload the file again (re-importing is
idempotent). A graceful stop fails the imports it holds at once, with the same advice.
Its SQL is in `queries.py`.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import AuditActor, record_audit
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.job_progress import JobProgress
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import registry
from services.tenant.pii import tenant_pii
from services.tenant.roster_import import queries
from services.tenant.roster_import.provision import ProvisionJob, lock_key, run_provision
from services.tenant.roster_import.upsert import ClassCache, apply_chunk
from services.tenant.roster_import.workbook import RowReader, WorkbookInfo

log = get_logger("tenant.roster_import")

CHUNK_ROWS = 500
MAX_CONCURRENT = 2
KIND = "roster_import"
HEARTBEAT_SECONDS = 10.0
SWEEP_SECONDS = 60.0
STALE_AFTER_SECONDS = 120.0
INTERRUPTED = ("interrupted: the tenant process running this import stopped; upload the file again "
               "(importing the same file again is safe: rows already in are left as they are)")


# What a failed import had done when it ended (the counters each chunk advanced).
_COUNTERS = text("SELECT total_rows, processed_rows, created_count, updated_count, restored_count, error_count"
                 " FROM tenant.roster_imports WHERE zone_id = :z AND org_id = :o AND id = :id")


async def audit_failed(s: AsyncSession, actor: AuditActor, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID,
                       reason: str) -> None:
    """`tenant.roster_import.failed` with the counters so far, in the transaction that fails it."""
    row = (await s.execute(_COUNTERS, {"z": zone_id, "o": org_id, "id": import_id})).mappings().first()
    await record_audit(s, schema="tenant", actor=actor, zone_id=zone_id, org_id=org_id, target_type="roster_import",
                       target_id=import_id, action="tenant.roster_import.failed",
                       after={"status": "failed", "reason": reason, **(dict(row) if row else {})})


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

    def __init__(self, res: Resources, *, chunk_rows: int = CHUNK_ROWS, max_concurrent: int = MAX_CONCURRENT,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS, sweep_seconds: float = SWEEP_SECONDS,
                 stale_after_seconds: float = STALE_AFTER_SECONDS) -> None:
        self.res = res
        self.chunk_rows = chunk_rows
        self.heartbeat_seconds, self.sweep_seconds = heartbeat_seconds, sweep_seconds
        self.stale_after_seconds = stale_after_seconds
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: dict[asyncio.Task, ImportJob] = {}
        self._provisions: set[asyncio.Task] = set()  # account provisioning jobs (provision.py)
        self._upkeep: asyncio.Task | None = None

    def progress(self) -> JobProgress:
        return JobProgress(self.res.redis, self.res.keys)

    def start(self, job: ImportJob) -> asyncio.Task:
        task = asyncio.create_task(self.run(job), name=f"roster-import-{job.import_id}")
        self._tasks[task] = job
        task.add_done_callback(lambda t: self._tasks.pop(t, None))
        return task

    async def wait_idle(self, timeout: float | None = None) -> None:
        if self._tasks or self._provisions:
            await asyncio.wait(set(self._tasks) | self._provisions, timeout=timeout)

    # --- upkeep: heartbeats for the imports held here, sweeps for those whose process died -----

    def start_upkeep(self) -> None:
        self._upkeep = asyncio.create_task(self._upkeep_loop(), name="roster-import-upkeep")

    async def close(self, timeout: float = 10.0) -> None:
        """Graceful stop: no more upkeep; the imports held here end as failed (INTERRUPTED)."""
        if self._upkeep is not None:
            self._upkeep.cancel()
            await asyncio.gather(self._upkeep, return_exceptions=True)
        for task in [*self._tasks, *self._provisions]:
            task.cancel()
        await self.wait_idle(timeout)

    async def _upkeep_loop(self) -> None:
        last_sweep = -self.sweep_seconds
        while True:
            try:
                await self.heartbeat()
                if time.monotonic() - last_sweep >= self.sweep_seconds:
                    last_sweep = time.monotonic()
                    await self.sweep()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the upkeep
                log.warning("roster import upkeep failed; retrying", exc_info=True)
            await asyncio.sleep(self.heartbeat_seconds)

    async def heartbeat(self) -> None:
        """Touch the imports this process holds (queued or running)."""
        for job in list(self._tasks.values()):
            async with tenant_transaction(self.res.db(), job.ctx) as s:
                await queries.touch_heartbeat(s, job.zone_id, job.org_id, job.import_id)

    async def sweep(self) -> list[uuid.UUID]:
        """End, as failed, every unfinished import in any zone whose heartbeat is too old."""
        ended: list[tuple[int, uuid.UUID, uuid.UUID]] = []
        for zone in registry().zones:
            async with tenant_transaction(self.res.db(), TenantContext(zone.id, role="zone_admin")) as s:
                for row in await queries.fail_stale_imports(s, zone.id, INTERRUPTED, self.stale_after_seconds):
                    await add_event(s, "tenant", "roster.import.completed", {
                        "import_id": str(row.id), "org_id": str(row.org_id), "status": "failed", "error": INTERRUPTED},
                        zone_id=zone.id, org_id=row.org_id)
                    await audit_failed(s, AuditActor.system("roster-import-sweep"), zone.id, row.org_id, row.id,
                                       INTERRUPTED)
                    ended.append((zone.id, row.org_id, row.id))
        progress = self.progress()
        for zone_id, org_id, import_id in ended:
            log.warning("roster import interrupted: its process stopped", import_id=str(import_id), zone_id=zone_id)
            if await progress.get(zone_id, org_id, import_id) is not None:  # not yet expired in Redis
                await progress.finish(zone_id, org_id, import_id, status="failed", error=INTERRUPTED)
        return [import_id for _, _, import_id in ended]

    # --- account provisioning from an import (provision.py) --------------------------------

    def start_provision(self, job: ProvisionJob) -> asyncio.Task:
        """Run a provisioning job in the same slots as imports (same concurrency limit)."""
        task = asyncio.create_task(self.run_provision(job), name=f"roster-provision-{job.job_id}")
        self._provisions.add(task)
        task.add_done_callback(self._provisions.discard)
        return task

    async def run_provision(self, job: ProvisionJob) -> None:
        """The job, ended in Redis as succeeded or failed (with the reason: e.g. auth unavailable;
        starting it again is safe). The import's provisioning lock is released either way."""
        progress = self.progress()
        try:
            async with self._slots:
                totals = await run_provision(self.res, job, progress)
            # The totals as fields (`result`) for pages; `step` stays a readable line for people.
            await progress.finish(job.zone_id, job.org_id, job.job_id, status="succeeded", errors=0,
                                  step=f"done: {totals.students} students, {totals.created} new accounts, "
                                       f"{totals.codes} codes for the activation sheet", result=totals.as_dict())
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await progress.finish(job.zone_id, job.org_id, job.job_id, status="failed",
                                      error="interrupted: the tenant process stopped; provision again (it is safe)",
                                      error_code="job.interrupted")
            raise
        except Exception as exc:  # noqa: BLE001 - any failure ends the job as failed, with a reason
            reason = f"{exc.code}: {exc.detail}" if isinstance(exc, AppError) else \
                f"internal error ({type(exc).__name__})"
            if not isinstance(exc, AppError):
                log.exception("roster provisioning failed", job_id=str(job.job_id))
            # `error_code` for pages (the text is English): the AppError's code, else job.internal.
            await progress.finish(job.zone_id, job.org_id, job.job_id, status="failed",
                                  error=f"{reason}; provisioning again is safe"[:1000],
                                  error_code=exc.code if isinstance(exc, AppError) else "job.internal")
        finally:
            with contextlib.suppress(Exception):
                await self.res.redis.delete(lock_key(self.res, job.zone_id, job.org_id, job.import_id))

    # --- one import -------------------------------------------------------------------------

    async def run(self, job: ImportJob) -> None:
        progress = self.progress()
        try:
            async with self._slots:
                await self._run(job, progress)
        except asyncio.CancelledError:  # the service is stopping: say so, then let the cancel through
            with contextlib.suppress(Exception):
                await self._fail(job, progress, INTERRUPTED)
            raise
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
            await queries.mark_running(s, job.zone_id, job.org_id, job.import_id)
        await progress.update(job.zone_id, job.org_id, job.import_id, step="reading", processed=0, total=total,
                              errors=0)
        reader = await asyncio.to_thread(RowReader, job.path, job.info)
        classes = ClassCache()
        pii = tenant_pii(self.res.settings)
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
                                               processed=consumed, pii=pii)
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
            # Not running any more: swept as interrupted while this process stalled; that verdict stands.
            if not await queries.mark_succeeded(s, job.zone_id, job.org_id, job.import_id, consumed):
                log.warning("roster import finished after it was declared interrupted", import_id=str(job.import_id))
                return
            await add_event(s, "tenant", "roster.import.completed", {
                "import_id": str(job.import_id), "org_id": str(job.org_id), "status": "succeeded",
                "rows": totals["rows"], "created": totals["created"], "updated": totals["updated"],
                "restored": totals["restored"], "unchanged": totals["unchanged"], "error_rows": totals["errors"]},
                zone_id=job.zone_id, org_id=job.org_id)
            await record_audit(s, schema="tenant", actor=AuditActor.from_context(job.ctx), zone_id=job.zone_id,
                               org_id=job.org_id, target_type="roster_import", target_id=job.import_id,
                               action="tenant.roster_import.committed",
                               after={k: totals[k] for k in ("rows", "created", "updated", "restored", "errors")})
        await progress.update(job.zone_id, job.org_id, job.import_id, step="done", processed=consumed,
                              total=consumed, errors=totals["errors"])
        await progress.finish(job.zone_id, job.org_id, job.import_id, status="succeeded", errors=totals["errors"])
        log.info("roster import done", import_id=str(job.import_id), seconds=round(time.perf_counter() - started, 2),
                 **totals)

    async def _fail(self, job: ImportJob, progress: JobProgress, reason: str) -> None:
        try:
            async with tenant_transaction(self.res.db(), job.ctx) as s:
                await queries.mark_failed(s, job.zone_id, job.org_id, job.import_id, reason[:1000])
                await add_event(s, "tenant", "roster.import.completed", {
                    "import_id": str(job.import_id), "org_id": str(job.org_id), "status": "failed", "error": reason},
                    zone_id=job.zone_id, org_id=job.org_id)
                await audit_failed(s, AuditActor.from_context(job.ctx), job.zone_id, job.org_id, job.import_id, reason)
        finally:
            await progress.finish(job.zone_id, job.org_id, job.import_id, status="failed", error=reason[:1000])
