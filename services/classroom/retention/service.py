"""Retention of seed 002 and issue #14, run hourly by the upkeep worker of every replica:

- one replica at a time: a session-level advisory lock on one dedicated connection, held for
  the whole run; a replica that cannot take it skips the run (`RetentionReport.skipped`). The
  lock is taken inside a transaction kept open for the run, so a transaction-pooling PgBouncer
  keeps the same server connection for the lock and its unlock (autocommit statements could
  land on two different backends and leave the lock held for good); it is always unlocked, and
  a connection that cannot unlock is closed (closing a backend releases its locks);
- chat messages (30 days) and session logs (90 days): whole monthly partitions that end at or
  before the cutoff are dropped (cheap, no dead tuples), then the rows left older than the cutoff
  (the month that straddles it, the DEFAULT partition) are deleted per zone in batches;
- sessions that ended or expired more than 180 days ago (and whose homework window closed):
  deleted per zone in batches, their participants, cards and answers by ON DELETE CASCADE;
- published outbox rows and processed inbox entries older than 7 days (megacity.events.outbox).

`now` moves the clock for the tables above (tests); the outbox prune keeps the real clock.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from megacity.db import TenantContext, system_transaction, tenant_transaction
from megacity.events.outbox import prune
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import registry
from services.classroom.retention import queries
from services.classroom.settings import ClassroomSettings

log = get_logger("classroom.retention")

BATCH_SIZE = 5000
# At most this many batches per table and zone in one run: a large backlog is worked off over
# several hourly runs instead of holding the lock (and the upkeep loop) for a long time.
MAX_BATCHES = 200
OUTBOX_KEEP = dt.timedelta(days=7)

DELETED = Counter(
    "mc_classroom_retention_deleted_total",
    "What retention removed: rows deleted (how=rows) or whole monthly partitions dropped (how=partition)",
    ["table", "how"])
LAST_RUN = Gauge("mc_classroom_retention_last_run_timestamp_seconds",
                 "Unix time this replica last finished a retention run")
RUN_SECONDS = Histogram("mc_classroom_retention_run_seconds", "Duration of a retention run that took the lock",
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800))
RUNS = Counter("mc_classroom_retention_runs_total", "Retention runs, by outcome (ran, skipped, failed)",
               ["outcome"])

DeleteBatch = Callable[[AsyncSession, int], Awaitable[int]]


@dataclass(frozen=True)
class RetentionReport:
    """What one run did. `skipped`: another replica held the lock, nothing was done.
    partitions_dropped: table -> partitions; rows_deleted: table -> rows (sessions counted
    without their cascaded participants, cards and answers; outbox and inbox included)."""

    skipped: bool
    now: dt.datetime
    partitions_dropped: Mapping[str, int] = field(default_factory=dict)
    rows_deleted: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0


async def run_retention(res: Resources, settings: ClassroomSettings, now: dt.datetime | None = None, *,
                        batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES) -> RetentionReport:
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    sessions = res.db()
    assert res.engine is not None  # res.db() raised otherwise
    started = time.perf_counter()
    async with res.engine.connect() as conn:
        await conn.begin()
        if not await queries.try_lock(conn):
            RUNS.labels("skipped").inc()
            log.info("retention skipped", reason="another replica holds the lock")
            return RetentionReport(skipped=True, now=now)
        try:
            dropped, deleted = await _run(sessions, settings, now, batch_size, max_batches)
        except Exception:
            RUNS.labels("failed").inc()
            raise
        finally:
            await _release(conn)
    seconds = time.perf_counter() - started
    RUNS.labels("ran").inc()
    RUN_SECONDS.observe(seconds)
    LAST_RUN.set(time.time())
    report = RetentionReport(skipped=False, now=now, partitions_dropped=dropped, rows_deleted=deleted,
                             seconds=round(seconds, 3))
    log.info("retention run", now=now.isoformat(), seconds=report.seconds, partitions_dropped=dropped,
             rows_deleted=deleted)
    return report


async def _run(sessions: async_sessionmaker[AsyncSession], settings: ClassroomSettings, now: dt.datetime,
               batch_size: int, max_batches: int) -> tuple[dict[str, int], dict[str, int]]:
    cutoffs = {"messages": now - dt.timedelta(days=settings.retain_messages_days),
               "session_logs": now - dt.timedelta(days=settings.retain_logs_days)}
    dropped: dict[str, int] = {}
    deleted: dict[str, int] = {}
    for table, cutoff in cutoffs.items():
        async with system_transaction(sessions) as s:
            dropped[table] = await queries.drop_partitions(s, table, cutoff)
        DELETED.labels(table, "partition").inc(dropped[table])
        deleted[table] = await _in_batches(sessions, table, _old_rows(table, cutoff, batch_size), batch_size,
                                           max_batches)
    session_cutoff = now - dt.timedelta(days=settings.retain_sessions_days)
    deleted["sessions"] = await _in_batches(sessions, "sessions", _ended_sessions(session_cutoff, batch_size),
                                            batch_size, max_batches)
    async with system_transaction(sessions) as s:
        deleted["outbox"], deleted["inbox"] = await prune(s, "classroom", older_than=OUTBOX_KEEP)
    DELETED.labels("outbox", "rows").inc(deleted["outbox"])
    DELETED.labels("inbox", "rows").inc(deleted["inbox"])
    return dropped, deleted


def _old_rows(table: str, cutoff: dt.datetime, limit: int) -> DeleteBatch:
    async def batch(s: AsyncSession, zone_id: int) -> int:
        return await queries.delete_old_rows(s, table, zone_id, cutoff, limit)
    return batch


def _ended_sessions(cutoff: dt.datetime, limit: int) -> DeleteBatch:
    async def batch(s: AsyncSession, zone_id: int) -> int:
        return await queries.delete_ended_sessions(s, zone_id, cutoff, limit)
    return batch


async def _in_batches(sessions: async_sessionmaker[AsyncSession], table: str, delete: DeleteBatch,
                      batch_size: int, max_batches: int) -> int:
    """Every zone, one short transaction per batch (as the zone's admin: RLS bounds it to the zone)."""
    total = 0
    for zone in registry().zones:
        for _ in range(max_batches):
            async with tenant_transaction(sessions, TenantContext(zone_id=zone.id, role="zone_admin")) as s:
                n = await delete(s, zone.id)
            total += n
            DELETED.labels(table, "rows").inc(n)
            if n < batch_size:
                break
        else:
            log.info("retention backlog left for the next run", table=table, zone_id=zone.id)
    return total


async def _release(conn: AsyncConnection) -> None:
    """Unlock on the connection that locked, then end its transaction. If that fails (or the task
    is cancelled meanwhile), close the connection instead: its backend's locks go with it."""
    try:
        if not await queries.unlock(conn):
            log.warning("retention lock was not held at unlock")
        await conn.commit()
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await conn.invalidate()
        if not isinstance(exc, Exception):
            raise
        log.warning("could not release the retention lock; connection closed", error=str(exc)[:300])
