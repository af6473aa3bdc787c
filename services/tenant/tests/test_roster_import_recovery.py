"""No roster import stays `running` for ever: one whose process died is swept to failed (in any
zone, by any replica), and a graceful stop fails the imports it holds — each time with advice
to upload the file again, in the database, the event and the Redis progress."""
from __future__ import annotations

import asyncio
import json
import uuid

from megacity.db import TenantContext
from services.tenant.roster_import.jobs import INTERRUPTED, KIND, ImportJob, ImportRunner
from services.tenant.roster_import.sample import write_roster
from services.tenant.roster_import.workbook import inspect_workbook


async def _import_row(tenant, zone_id: int, org: uuid.UUID, status: str, age_s: int) -> uuid.UUID:
    import_id = uuid.uuid4()
    await tenant.sql(
        "INSERT INTO tenant.roster_imports (id, zone_id, org_id, created_by, filename, size_bytes, total_rows, status,"
        " heartbeat_at) VALUES (:id, :z, :o, :by, 'r.xlsx', 1000, 10, :st, now() - make_interval(secs => :age))",
        id=import_id, z=zone_id, o=org, by=uuid.uuid4(), st=status, age=age_s)
    return import_id


async def _row(tenant, import_id: uuid.UUID):
    return (await tenant.sql("SELECT status, error, finished_at, heartbeat_at FROM tenant.roster_imports"
                             " WHERE id = :id", id=import_id))[0]


async def _completed_events(tenant) -> dict[str, dict]:
    rows = await tenant.sql("SELECT payload FROM tenant.outbox WHERE event_type = 'roster.import.completed'")
    payloads = [r.payload if isinstance(r.payload, dict) else json.loads(r.payload) for r in rows]
    return {p["import_id"]: p for p in payloads}


async def test_imports_of_a_dead_process_are_swept_to_failed_in_every_zone(tenant) -> None:
    org1, org2 = await tenant.make_org(1), await tenant.make_org(2)
    dead_running = await _import_row(tenant, 1, org1, "running", age_s=600)
    dead_queued = await _import_row(tenant, 2, org2, "queued", age_s=600)
    alive = await _import_row(tenant, 1, org1, "running", age_s=5)
    finished = await _import_row(tenant, 1, org1, "succeeded", age_s=600)
    runner: ImportRunner = tenant.runtime.app.state.roster_imports
    progress = runner.progress()
    await progress.create(1, org1, dead_running, kind=KIND, total=10)

    # The service's own upkeep sweeps too (at start, then each minute) and may get there first:
    # what matters is that the dead imports end failed, whichever replica's sweep ended them.
    assert set(await runner.sweep()) <= {dead_running, dead_queued}

    for import_id in (dead_running, dead_queued):
        row = await _row(tenant, import_id)
        assert (row.status, row.error) == ("failed", INTERRUPTED) and row.finished_at is not None
    assert (await _row(tenant, alive)).status == "running"
    assert (await _row(tenant, finished)).status == "succeeded"
    events = await _completed_events(tenant)
    assert {events[str(i)]["status"] for i in (dead_running, dead_queued)} == {"failed"}
    assert str(alive) not in events
    for _ in range(200):  # a sweep finishes the progress right after its commit
        state = await progress.get(1, org1, dead_running)
        if state["status"] == "failed":
            break
        await asyncio.sleep(0.01)
    assert (state["status"], state["error"]) == ("failed", INTERRUPTED)
    assert await progress.get(2, org2, dead_queued) is None  # no progress record invented
    # the org admin reads why, through the API
    admin = tenant.actor(1, "org_admin", org1)
    detail = await tenant.client.get(f"/api/v1/rosters/imports/{dead_running}", headers=admin.headers)
    assert detail.status_code == 200 and detail.json()["status"] == "failed"
    assert "upload the file again" in detail.json()["error"]
    assert await runner.sweep() == []  # nothing left to sweep


async def test_graceful_stop_fails_the_imports_it_holds(tenant, tmp_path) -> None:
    org = await tenant.make_org(1)
    path = tmp_path / "roster.xlsx"
    write_roster(path, 20)
    info = inspect_workbook(path)
    import_id = await _import_row(tenant, 1, org, "queued", age_s=0)  # fresh: the service's sweep leaves it
    ctx = TenantContext(1, org, role="org_admin", user_id=uuid.uuid4())
    runner = ImportRunner(tenant.runtime.resources, max_concurrent=0)  # no free slot: the job waits, queued
    await runner.progress().create(1, org, import_id, kind=KIND, total=info.total_rows)
    task = runner.start(ImportJob(import_id, ctx, path, info))
    await asyncio.sleep(0.05)
    assert not task.done() and (await _row(tenant, import_id)).status == "queued"

    stale = (await _row(tenant, import_id)).heartbeat_at
    await runner.heartbeat()  # the queued import is held here: its heartbeat moves
    assert (await _row(tenant, import_id)).heartbeat_at > stale
    assert import_id not in await runner.sweep()

    await runner.close()
    assert task.cancelled()
    row = await _row(tenant, import_id)
    assert (row.status, row.error) == ("failed", INTERRUPTED)
    state = await runner.progress().get(1, org, import_id)
    assert (state["status"], state["error"]) == ("failed", INTERRUPTED)
    assert (await _completed_events(tenant))[str(import_id)]["status"] == "failed"
    assert not path.exists()  # the upload is not left behind
