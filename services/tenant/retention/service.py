"""Tenant retention on megacity.retention (hourly, every replica):

- `tenant.roster_imports` that finished (succeeded or failed) more than
  `TENANT_ROSTER_IMPORT_RETENTION_DAYS` (180) ago, per zone in batches, one replica at a time
  (advisory lock). Their `roster_import_errors` (row numbers, columns and reasons that may quote
  a cell; up to 100k per import) go first, in batches of their own: a batch of imports deleting
  its errors by ON DELETE CASCADE could take hundreds of millions of rows in one transaction.
  An import goes once it has no errors left. Queued and running imports are never touched.
  `students.last_import_id` is a plain stamp, not a reference, and stays;
- the uploaded roster files themselves live only on the importing process's disk
  (`roster_import.service._save_upload`: `<tmp>/roster-*.xlsx`) and are deleted when the import
  ends; a process killed mid-import leaves its file behind, so every replica deletes such files
  of its own disk older than a day (no lock: each replica has its own disk; no import runs
  that long — a dead one is failed after two minutes without a heartbeat);
- published outbox rows and processed inbox entries after 7 days.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import anyio

from megacity.retention import ROWS_DELETED, RetentionPolicy, RetentionReport, days
from megacity.retention import run_retention as run_policies
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.tenant.settings import TenantSettings

log = get_logger("tenant.retention")

# The names `_save_upload` gives its temp files (tempfile.mkstemp(prefix="roster-", suffix=".xlsx")).
UPLOAD_FILES = "roster-*.xlsx"
UPLOAD_FILE_MAX_AGE = dt.timedelta(days=1)
FINISHED_IMPORT = ("t.status IN ('succeeded', 'failed') AND NOT EXISTS (SELECT 1 FROM tenant.roster_import_errors e"
                   " WHERE e.zone_id = t.zone_id AND e.org_id = t.org_id AND e.import_id = t.id)")
# The errors have no time of their own: their import's.
ERROR_OF_FINISHED_IMPORT = ("EXISTS (SELECT 1 FROM tenant.roster_imports i WHERE i.zone_id = t.zone_id"
                            " AND i.org_id = t.org_id AND i.id = t.import_id AND i.status IN ('succeeded', 'failed')"
                            " AND i.finished_at < :cutoff)")


def policies(settings: TenantSettings) -> list[RetentionPolicy]:
    keep = days(settings.roster_import_retention_days)
    return [RetentionPolicy("tenant.roster_import_errors", "", keep, where=ERROR_OF_FINISHED_IMPORT,
                            key="zone_id, org_id, import_id, row_number, column_name"),
            RetentionPolicy("tenant.roster_imports", "finished_at", keep, key="zone_id, org_id, id",
                            where=FINISHED_IMPORT)]


async def run_retention(res: Resources, settings: TenantSettings, now: dt.datetime | None = None) -> RetentionReport:
    sessions = res.db()
    assert res.engine is not None  # res.db() raised otherwise
    return await run_policies(res.engine, policies(settings), service="tenant", now=now, sessions=sessions,
                              outbox="tenant")


def sweep_upload_files(directory: str | Path | None = None, *, older_than: dt.timedelta = UPLOAD_FILE_MAX_AGE,
                       now: dt.datetime | None = None) -> int:
    """Delete roster upload files in `directory` (the temp dir) last written more than
    `older_than` before `now`; returns how many."""
    cutoff = (now or dt.datetime.now(dt.UTC)).timestamp() - older_than.total_seconds()
    removed = 0
    for path in Path(directory or tempfile.gettempdir()).glob(UPLOAD_FILES):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError as exc:  # gone meanwhile, or not ours to delete
            log.warning("could not delete a roster upload file", path=str(path), error=str(exc)[:200])
    if removed:
        ROWS_DELETED.labels("tenant", "roster_upload_files").inc(removed)
        log.info("roster upload files deleted", count=removed)
    return removed


async def run_upkeep(res: Resources, settings: TenantSettings) -> RetentionReport:
    """What the worker runs: this replica's leftover files, then the database (under the lock)."""
    await anyio.to_thread.run_sync(lambda: sweep_upload_files())
    return await run_retention(res, settings)
