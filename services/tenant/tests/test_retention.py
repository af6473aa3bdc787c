"""Tenant retention (issue #17 §2) on the real database as the app role: finished roster imports
and their row errors written at chosen ages in two zones go after 180 days as the clock moves,
queued/running ones never; upload files a dead process left in the temp dir go after a day."""
from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from megacity.db import make_engine, make_sessionmaker
from megacity.runtime import Resources
from megacity.telemetry_testing import sample_value
from megacity.testing import TestDatabase
from services.tenant.retention.service import run_retention, sweep_upload_files
from services.tenant.settings import Settings, TenantSettings

DAY = dt.timedelta(days=1)
ZONES = (1, 2)
# label -> (status, finished this long ago (None: not finished), created this long ago)
IMPORTS = {"done200": ("succeeded", 200 * DAY, 200 * DAY), "failed190": ("failed", 190 * DAY, 190 * DAY),
           "done100": ("succeeded", 100 * DAY, 100 * DAY), "running": ("running", None, 300 * DAY),
           "queued": ("queued", None, 250 * DAY)}


@pytest.fixture
async def res(test_db: TestDatabase) -> AsyncIterator[Resources]:
    settings = Settings(environment="test", database_url=test_db.app_url("tenant"))
    engine = make_engine(test_db.app_url("tenant"), pool_size=2)
    try:
        yield Resources(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    finally:
        await engine.dispose()


def _settings(res: Resources) -> TenantSettings:
    assert isinstance(res.settings, TenantSettings)
    return res.settings


async def _seed(db: TestDatabase, now: dt.datetime) -> None:
    for zone in ZONES:
        org = uuid.uuid4()
        await db.sql("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, :z, 'School')", id=org, z=zone)
        for label, (status, finished, created) in IMPORTS.items():
            iid = uuid.uuid4()
            await db.sql("INSERT INTO tenant.roster_imports (id, zone_id, org_id, created_by, filename, size_bytes,"
                         " status, created_at, finished_at) VALUES (:id, :z, :o, :u, :f, 100, :s, :c, :fin)",
                         id=iid, z=zone, o=org, u=uuid.uuid4(), f=label, s=status, c=now - created,
                         fin=now - finished if finished else None)
            for row in range(3 if label == "done200" else 1):
                await db.sql("INSERT INTO tenant.roster_import_errors (zone_id, org_id, import_id, row_number,"
                             " column_name, reason) VALUES (:z, :o, :i, :r, 'phone', 'not a phone number')",
                             z=zone, o=org, i=iid, r=row + 3)


async def _left(db: TestDatabase) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for zone, name in await db.sql("SELECT zone_id, filename FROM tenant.roster_imports"):
        out.setdefault(zone, set()).add(name)
    # Errors exist exactly for the imports left (done200, with three, never is).
    errors = await db.sql("SELECT count(*), count(i.id) FROM tenant.roster_import_errors e"
                          " LEFT JOIN tenant.roster_imports i ON (i.zone_id, i.org_id, i.id) = (e.zone_id, e.org_id, e.import_id)")
    assert errors[0][0] == errors[0][1] == sum(len(v) for v in out.values())
    return out


async def test_finished_imports_and_their_errors_go_as_the_clock_moves(res: Resources, test_db: TestDatabase) -> None:
    now = dt.datetime.now(dt.UTC)
    await _seed(test_db, now)
    before = sample_value("mc_retention_rows_deleted_total",
                                       {"service": "tenant", "table": "roster_imports"}) or 0.0
    report = await run_retention(res, _settings(res))
    # The errors go first, in batches of their own (done200's three and failed190's one, per zone).
    assert report.rows_deleted["roster_import_errors"] == 8
    assert report.rows_deleted["roster_imports"] == 4
    assert await _left(test_db) == {z: {"done100", "running", "queued"} for z in ZONES}
    assert sample_value("mc_retention_rows_deleted_total",
                                     {"service": "tenant", "table": "roster_imports"}) == before + 4

    # 90 days on the 100-day-old import is 190 days old; queued and running ones stay whatever their age.
    later = await run_retention(res, _settings(res), now=now + 90 * DAY)
    assert later.rows_deleted["roster_imports"] == 2 and later.rows_deleted["roster_import_errors"] == 2
    assert await _left(test_db) == {z: {"running", "queued"} for z in ZONES}


def test_upload_files_left_by_a_dead_process_go_after_a_day(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    files = {name: tmp_path / name for name in ("roster-old.xlsx", "roster-new.xlsx", "other-old.xlsx")}
    for path in files.values():
        path.write_bytes(b"PK")
    old = (now - 2 * DAY).timestamp()
    for name in ("roster-old.xlsx", "other-old.xlsx"):
        os.utime(files[name], (old, old))
    assert sweep_upload_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-old.xlsx", "roster-new.xlsx"]
    # Two days on, the new one is a leftover too.
    assert sweep_upload_files(tmp_path, now=now + 2 * DAY) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-old.xlsx"]
