"""megacity.retention on a real PostgreSQL: a throwaway database with an owner and an app role
(NOBYPASSRLS, not the owner) as a service has, a monthly-partitioned table, a plain tenant table
whose rows own objects elsewhere, an append-only table deleted only through the owner's function,
and an outbox. Rows are written at chosen ages in two zones; runs with the real clock and with
the clock moved (`now=`) check what goes and what stays, that whole months are dropped, that
batches are bounded, that a second runner is shut out by the advisory lock, that a failed
on-delete hook keeps its rows and still unlocks, and that the metrics move. The owner's functions
hold against the app role: a temp table shadowing `pg_class` cannot aim a drop at another table,
a cutoff in the future drops no month younger than the table's minimum age, a busy month waits
for the next run, and a delete batch outside 1..10000 is refused."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from megacity.db import make_engine, make_sessionmaker
from megacity.db.partitions import ensure_month_partitions_sql
from megacity.db.rls import tenant_rls_statements
from megacity.db.tenant import TenantContext, tenant_transaction
from megacity.events.outbox import outbox_ddl
from megacity.retention import (
    RetentionPolicy,
    RetentionReport,
    RetentionWorker,
    days,
    drop_month_partitions_sql,
    outbox_worker,
    owner_delete_function_sql,
    run_retention,
    zone_days,
)
from megacity.runtime import Resources
from megacity.settings import settings_class
from megacity.telemetry_testing import sample_value
from megacity.testing import PG_URL, TestDatabase, db_url, superuser_sql
from megacity.zones import registry

DAY = dt.timedelta(days=1)
ZONE_ADMIN_1 = TenantContext(zone_id=1, role="zone_admin")
EVENTS_MIN_AGE = 60 * DAY  # the events policy's max age: the drop function's floor
SERVICE = "rt"
ZONES = (1, 2)
LOCK_HELD = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
             " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
             " AND objid::bigint = (hashtext('rt.retention')::bigint & 4294967295)")


@dataclass
class Rt:
    su: AsyncEngine
    app: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    org: uuid.UUID

    async def sql(self, query: str, **params: Any) -> list[Any]:
        return await superuser_sql(self.su, query, **params)

    async def labels(self, table: str) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for zone, label in await self.sql(f"SELECT zone_id, label FROM rt.{table}"):
            out.setdefault(zone, set()).add(label)
        return out


def _ddl(owner: str, app: str) -> list[str]:
    return [
        f'CREATE SCHEMA rt AUTHORIZATION "{owner}"',
        f'SET ROLE "{owner}"',
        "CREATE TABLE rt.events (id bigint GENERATED ALWAYS AS IDENTITY, zone_id int NOT NULL, org_id uuid NOT NULL,"
        " at timestamptz NOT NULL, label text NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
        "CREATE TABLE rt.events_default PARTITION OF rt.events DEFAULT",
        *tenant_rls_statements("rt", "events"),
        *tenant_rls_statements("rt", "events_default"),
        ensure_month_partitions_sql("rt", ("events",)),
        drop_month_partitions_sql("rt", {"events": EVENTS_MIN_AGE}),
        "SELECT rt.ensure_month_partitions((date_trunc('month', now()) - interval '7 months')::date, 9)",
        "CREATE TABLE rt.items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), zone_id int NOT NULL,"
        " org_id uuid NOT NULL, created_at timestamptz NOT NULL, status text NOT NULL, label text NOT NULL,"
        " object_key text NOT NULL)",
        *tenant_rls_statements("rt", "items"),
        "CREATE TABLE rt.audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, zone_id int NOT NULL,"
        " created_at timestamptz NOT NULL, label text NOT NULL)",
        *tenant_rls_statements("rt", "audit", org_column=None),
        owner_delete_function_sql("rt.delete_old_audit", "rt.audit", "created_at", min_age=days(365)),
        *outbox_ddl("rt"),
        "RESET ROLE",
        f'GRANT USAGE ON SCHEMA rt TO "{app}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON rt.events, rt.items, rt.outbox, rt.inbox TO "{app}"',
        f'GRANT SELECT, INSERT ON rt.audit TO "{app}"',  # append-only for the app role
        f'GRANT EXECUTE ON FUNCTION rt.drop_month_partitions_before(text, timestamptz) TO "{app}"',
        f'GRANT EXECUTE ON FUNCTION rt.delete_old_audit(integer, timestamptz, integer) TO "{app}"',
    ]


@pytest.fixture
async def rt() -> AsyncIterator[Rt]:
    tag = uuid.uuid4().hex[:10]
    name, owner, app = f"mc_rt_{tag}", f"mc_rt_{tag}_owner", f"mc_rt_{tag}_app"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOBYPASSRLS").format(sql.Identifier(app)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    su = app_engine = None
    try:
        with psycopg.connect(db_url(name), autocommit=True) as conn:
            for stmt in _ddl(owner, app):
                conn.execute(stmt.encode())
        su = make_engine(db_url(name), pool_size=1)
        app_engine = make_engine(db_url(name, app), pool_size=2)
        yield Rt(su, app_engine, make_sessionmaker(app_engine), uuid.uuid4())
    finally:
        for engine in (su, app_engine):
            if engine is not None:
                await engine.dispose()
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            for role in (app, owner):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _sample(name: str, **labels: str) -> float:
    return sample_value(name, {"service": SERVICE, **labels}) or 0.0


EVENT_AGES = {"e200": 200 * DAY, "e130": 130 * DAY, "e100": 100 * DAY, "e70": 70 * DAY, "e50": 50 * DAY,
              "e0": dt.timedelta(minutes=1), "e_default": 3 * 365 * DAY}
ITEMS = {"old_done": (40 * DAY, "done"), "old_open": (40 * DAY, "open"), "new_done": (10 * DAY, "done")}


async def _seed(rt: Rt, now: dt.datetime) -> None:
    for zone in ZONES:
        for label, age in EVENT_AGES.items():
            await rt.sql("INSERT INTO rt.events (zone_id, org_id, at, label) VALUES (:z, :o, :at, :l)",
                         z=zone, o=rt.org, at=now - age, l=label)
        for label, (age, status) in ITEMS.items():
            await rt.sql("INSERT INTO rt.items (zone_id, org_id, created_at, status, label, object_key)"
                         " VALUES (:z, :o, :at, :s, :l, :k)", z=zone, o=rt.org, at=now - age, s=status, l=label,
                         k=f"objects/{zone}/{label}")
        for label, age in {"a400": 400 * DAY, "a300": 300 * DAY}.items():
            await rt.sql("INSERT INTO rt.audit (zone_id, created_at, label) VALUES (:z, :at, :l)",
                         z=zone, at=now - age, l=label)
    await rt.sql("INSERT INTO rt.outbox (event_type, subject, payload, created_at, published_at) VALUES"
                 " ('t.old', 's', '{}', :old, :old), ('t.new', 's', '{}', :new, :new)",
                 old=now - 8 * DAY, new=now - DAY)


async def _partitions_ending_by(rt: Rt, cutoff: dt.datetime) -> set[str]:
    rows = await rt.sql("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
                        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'rt.events'::regclass")
    out = set()
    for name, bound in rows:
        if bound != "DEFAULT":
            end = (await rt.sql("SELECT (substring(:b FROM 'TO \\(''([^'']+)''\\)'))::timestamptz", b=bound))[0][0]
            if end <= cutoff:
                out.add(name)
    return out


async def _count(rt: Rt, table: str) -> int:
    return int((await rt.sql(f"SELECT count(*) FROM {table}"))[0][0])


class Storage:
    """Where the items' objects live: the hook deletes them first, or fails to."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.fail = False
        self.entered = asyncio.Event()
        self.gate: asyncio.Event | None = None

    async def on_delete(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("object storage is down")
        self.deleted.extend(r["object_key"] for r in rows)


def _policies(storage: Storage, *, item_batch: int | None = None) -> list[RetentionPolicy]:
    return [
        # Zone 2 keeps its events twice as long: only months past zone 2's cutoff go whole.
        RetentionPolicy("rt.events", "at", days(60), partitioned=True, key="id, at", zone_max_age={2: days(120)}),
        RetentionPolicy("rt.items", "created_at", days(30), where="t.status = 'done'", returning=("object_key",),
                        on_delete=storage.on_delete, batch_size=item_batch),
        RetentionPolicy("rt.audit", "created_at", days(365), delete_function="rt.delete_old_audit"),
    ]


async def _run(rt: Rt, storage: Storage, now: dt.datetime | None = None, **kw: Any) -> Any:
    return await run_retention(rt.app, _policies(storage, item_batch=kw.pop("item_batch", None)), service=SERVICE,
                               now=now, sessions=rt.sessions, outbox="rt", zones=ZONES, **kw)


async def test_partitions_rows_hooks_and_metrics_as_the_clock_moves(rt: Rt) -> None:
    now = dt.datetime.now(dt.UTC)
    await _seed(rt, now)
    whole = await _partitions_ending_by(rt, now - 120 * DAY)
    assert len(whole) >= 2
    in_whole = sum([await _count(rt, f"rt.{name}") for name in whole])
    parts_before = _sample("mc_retention_partitions_dropped_total", table="events")
    items_before = _sample("mc_retention_rows_deleted_total", table="items")
    audit_before = _sample("mc_retention_rows_deleted_total", table="audit")
    outbox_before = _sample("mc_retention_rows_deleted_total", table="outbox")
    ran_before = _sample("mc_retention_runs_total", outcome="ran")
    hist_before = _sample("mc_retention_run_seconds_count")
    storage = Storage()

    # 1. The real clock.
    report = await _run(rt, storage)
    assert not report.skipped and not report.backlog
    assert report.partitions_dropped["events"] == len(whole)
    assert not whole & await _partitions_ending_by(rt, now + 1000 * DAY)  # gone from the catalogue
    assert await rt.labels("events") == {1: {"e50", "e0"}, 2: {"e100", "e70", "e50", "e0"}}
    assert await rt.labels("items") == {1: {"old_open", "new_done"}, 2: {"old_open", "new_done"}}
    assert sorted(storage.deleted) == ["objects/1/old_done", "objects/2/old_done"]
    assert report.rows_deleted["items"] == 2
    assert report.rows_deleted["audit"] == 2  # a400 of each zone
    # Rows of dropped months are not counted as rows; the rest that went were deleted one by one.
    assert report.rows_deleted["events"] == 2 * len(EVENT_AGES) - in_whole - await _count(rt, "rt.events")
    assert await rt.labels("audit") == {1: {"a300"}, 2: {"a300"}}
    assert (report.rows_deleted["outbox"], report.rows_deleted["inbox"]) == (1, 0)
    assert [r[0] for r in await rt.sql("SELECT event_type FROM rt.outbox")] == ["t.new"]

    assert _sample("mc_retention_partitions_dropped_total", table="events") == \
        parts_before + len(whole)
    assert _sample("mc_retention_rows_deleted_total", table="items") == items_before + 2
    assert _sample("mc_retention_rows_deleted_total", table="audit") == audit_before + 2
    assert _sample("mc_retention_rows_deleted_total", table="outbox") == outbox_before + 1
    assert _sample("mc_retention_runs_total", outcome="ran") == ran_before + 1
    assert _sample("mc_retention_run_seconds_count") == hist_before + 1
    assert _sample("mc_retention_last_run_timestamp_seconds") >= now.timestamp()

    # 2. Again at once: nothing left.
    again = await _run(rt, storage)
    assert sum(again.partitions_dropped.values()) == 0 and sum(again.rows_deleted.values()) == 0

    # 3. 45 days on: zone 1 (60 days) keeps only the newest event, zone 2 (120 days) loses e100;
    # done items go, open ones stay.
    later = await _run(rt, storage, now=now + 45 * DAY)
    assert later.rows_deleted["items"] == 2
    assert await rt.labels("events") == {1: {"e0"}, 2: {"e70", "e50", "e0"}}
    assert await rt.labels("items") == {1: {"old_open"}, 2: {"old_open"}}

    # 4. 100 days on: the audit rows 300 days old are past the policy's year by that clock, but
    # stay: the owner's function never deletes anything younger than a year of the real clock.
    far = await _run(rt, storage, now=now + 100 * DAY)
    assert far.rows_deleted["audit"] == 0
    assert await rt.labels("audit") == {1: {"a300"}, 2: {"a300"}}
    assert await rt.labels("events") == {2: {"e0"}}


async def test_bounded_batches_leave_a_backlog_for_the_next_run(rt: Rt) -> None:
    now = dt.datetime.now(dt.UTC)
    for i in range(7):
        await rt.sql("INSERT INTO rt.items (zone_id, org_id, created_at, status, label, object_key)"
                     " VALUES (1, :o, :at, 'done', :l, :k)", o=rt.org, at=now - (40 + i) * DAY, l=f"i{i}", k=f"k{i}")
    storage = Storage()
    first = await _run(rt, storage, item_batch=2, max_batches=2)
    assert first.rows_deleted["items"] == 4 and first.backlog == {"items"}
    # Oldest first: the next run finds the newest three.
    assert await rt.labels("items") == {1: {"i0", "i1", "i2"}}
    second = await _run(rt, storage, item_batch=2, max_batches=2)
    assert second.rows_deleted["items"] == 3 and not second.backlog
    assert await rt.labels("items") == {}
    assert len(storage.deleted) == 7


async def test_the_advisory_lock_shuts_out_a_second_runner(rt: Rt) -> None:
    now = dt.datetime.now(dt.UTC)
    await _seed(rt, now)
    storage = Storage()
    storage.gate = asyncio.Event()
    skipped_before = _sample("mc_retention_runs_total", outcome="skipped")
    first = asyncio.create_task(_run(rt, storage))
    await asyncio.wait_for(storage.entered.wait(), 30)  # the first run holds the lock, inside its work
    assert (await rt.sql(LOCK_HELD))[0][0] == 1
    second = await _run(rt, Storage())
    assert second.skipped and not second.rows_deleted and not second.partitions_dropped
    assert _sample("mc_retention_runs_total", outcome="skipped") == skipped_before + 1
    assert not first.done()
    storage.gate.set()
    assert not (await asyncio.wait_for(first, 30)).skipped
    assert (await rt.sql(LOCK_HELD))[0][0] == 0


async def test_a_failed_hook_keeps_its_rows_and_still_unlocks(rt: Rt) -> None:
    now = dt.datetime.now(dt.UTC)
    await _seed(rt, now)
    storage = Storage()
    storage.fail = True
    failed_before = _sample("mc_retention_runs_total", outcome="failed")
    with pytest.raises(RuntimeError, match="object storage is down"):
        await _run(rt, storage)
    assert _sample("mc_retention_runs_total", outcome="failed") == failed_before + 1
    assert (await rt.sql(LOCK_HELD))[0][0] == 0
    assert "old_done" in (await rt.labels("items"))[1]  # the batch rolled back with its hook
    storage.fail = False
    assert not (await _run(rt, storage)).skipped
    assert "old_done" not in (await rt.labels("items"))[1]


async def test_zone_settings_and_policy_checks(rt: Rt) -> None:
    reg = registry()
    assert zone_days({"kzone-ai": 30, "univ": None}) == {reg.zone("kzone-ai").id: days(30), reg.zone("univ").id: None}
    with pytest.raises(LookupError):
        zone_days({"no-such-zone": 1})
    with pytest.raises(ValueError):
        RetentionPolicy("rt.items; DROP TABLE x", "created_at", days(1))
    with pytest.raises(ValueError):
        RetentionPolicy("rt.items", "created_at", days(1), on_delete=Storage().on_delete)
    with pytest.raises(ValueError):
        RetentionPolicy("rt.events", "at", days(1), partitioned=True, where="t.label = 'x'")
    # A zone kept for ever (None): its rows stay, another zone's go.
    now = dt.datetime.now(dt.UTC)
    await _seed(rt, now)
    policy = RetentionPolicy("rt.items", "created_at", days(30), zone_max_age={2: None})
    report = await run_retention(rt.app, [policy], service=SERVICE, sessions=rt.sessions, zones=ZONES)
    assert report.rows_deleted["items"] == 2  # zone 1's two old items, done or open
    assert await rt.labels("items") == {1: {"new_done"}, 2: set(ITEMS)}


async def test_the_worker_runs_on_its_interval_survives_a_failure_and_stops() -> None:
    calls: list[int] = []
    third = asyncio.Event()

    async def run() -> RetentionReport:
        calls.append(1)
        if len(calls) == 3:
            third.set()
        if len(calls) == 1:
            raise RuntimeError("database down")
        return RetentionReport(skipped=False, now=dt.datetime.now(dt.UTC))

    worker = RetentionWorker(run, service=SERVICE, interval=0.01, first_delay=0)
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(third.wait(), 5)  # the failed first run did not stop it
    worker.stop()
    await asyncio.wait_for(task, 5)
    assert len(calls) >= 3


async def test_outbox_worker_prunes_a_service_without_other_policies(rt: Rt) -> None:
    now = dt.datetime.now(dt.UTC)
    await _seed(rt, now)
    res = Resources(settings=settings_class("exam")(environment="test"), engine=rt.app, sessions=rt.sessions)
    worker = outbox_worker(res, SERVICE, first_delay=0)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(500):
            if [r[0] for r in await rt.sql("SELECT event_type FROM rt.outbox")] == ["t.new"]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the outbox was not pruned")
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
    assert len(await rt.sql("SELECT 1 FROM rt.items")) == len(ZONES) * len(ITEMS)  # no policy, no deletes


async def _owner(rt: Rt) -> str:
    return str((await rt.sql("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'rt'"))[0][0])


async def _oldest_partition(rt: Rt) -> str:
    return str((await rt.sql("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                             " WHERE i.inhparent = 'rt.events'::regclass AND c.relname <> 'events_default'"
                             " ORDER BY c.relname LIMIT 1"))[0][0])


def _app_role(rt: Rt) -> str:
    return f'"{rt.app.url.username}"'


async def test_a_temp_pg_class_cannot_aim_the_drop_at_another_table(rt: Rt) -> None:
    """The app role copies the catalogue into a temp table named pg_class and renames an old month
    to `items` in it. 0001-style functions (search_path without pg_temp, which then comes first
    for relations) read the fake and drop rt.items as the owner; the shipped one reads pg_catalog."""
    victim = await _oldest_partition(rt)
    unsafe = (drop_month_partitions_sql("rt", {"events": EVENTS_MIN_AGE})
              .replace("rt.drop_month_partitions_before", "rt.unsafe_drop")
              .replace(", pg_temp", "").replace("pg_catalog.pg_", "pg_"))
    owner = await _owner(rt)
    for stmt in (unsafe, f'ALTER FUNCTION rt.unsafe_drop(text, timestamptz) OWNER TO "{owner}"',
                 f"GRANT EXECUTE ON FUNCTION rt.unsafe_drop(text, timestamptz) TO {_app_role(rt)}"):
        await rt.sql(stmt)
    whole = await _partitions_ending_by(rt, dt.datetime.now(dt.UTC) - EVENTS_MIN_AGE)
    async with rt.app.connect() as conn:
        await conn.execute(text("CREATE TEMP TABLE pg_class AS"
                                " SELECT oid, relname, relnamespace, relpartbound FROM pg_catalog.pg_class"))
        await conn.execute(text("UPDATE pg_temp.pg_class SET relname = 'items' WHERE relname = :v"), {"v": victim})
        await conn.execute(text("GRANT SELECT ON pg_temp.pg_class TO PUBLIC"))  # the owner reads it
        await conn.commit()
        # The control: the hole is real (rolled back, so rt.items survives it).
        trans = await conn.begin()
        await conn.execute(text("SELECT rt.unsafe_drop('events', now())"))
        assert (await conn.execute(text("SELECT to_regclass('rt.items')"))).scalar_one() is None
        await trans.rollback()
        async with conn.begin():
            dropped = (await conn.execute(text("SELECT rt.drop_month_partitions_before('events', now())"))).scalar_one()
    assert dropped == len(whole) and victim in whole
    assert await rt.sql("SELECT to_regclass('rt.items') IS NOT NULL") == [(True,)]
    assert not whole & await _partitions_ending_by(rt, dt.datetime.now(dt.UTC) + 1000 * DAY)


async def test_a_future_cutoff_drops_no_month_younger_than_the_minimum_age(rt: Rt) -> None:
    now = dt.datetime.now(dt.UTC)
    before = await _partitions_ending_by(rt, now + 1000 * DAY)
    old_enough = await _partitions_ending_by(rt, now - EVENTS_MIN_AGE)
    async with rt.sessions() as s, s.begin():
        dropped = (await s.execute(text("SELECT rt.drop_month_partitions_before('events', 'infinity')"))).scalar_one()
    assert dropped == len(old_enough)
    assert await _partitions_ending_by(rt, now + 1000 * DAY) == before - old_enough
    with pytest.raises(DBAPIError, match="not a partitioned rt table"):
        async with rt.sessions() as s, s.begin():
            await s.execute(text("SELECT rt.drop_month_partitions_before('items', now())"))
    # Through a run with the clock moved a year on: still nothing younger than 60 days goes whole.
    report = await _run(rt, Storage(), now=now + 365 * DAY)
    assert report.partitions_dropped["events"] == 0


async def test_a_busy_month_waits_for_the_next_run(rt: Rt) -> None:
    now = dt.datetime.now(dt.UTC)
    whole = await _partitions_ending_by(rt, now - 120 * DAY)
    busy = await _oldest_partition(rt)
    assert busy in whole
    async with rt.su.connect() as reader:
        async with reader.begin():
            await reader.execute(text(f"LOCK TABLE rt.{busy} IN ACCESS SHARE MODE"))  # a long read
            first = await _run(rt, Storage())
        assert first.partitions_dropped["events"] == len(whole) - 1
    assert busy in await _partitions_ending_by(rt, now)
    second = await _run(rt, Storage())
    assert second.partitions_dropped["events"] == 1
    assert not whole & await _partitions_ending_by(rt, now + 1000 * DAY)


async def test_a_run_over_some_zones_keeps_the_months_other_zones_keep(rt: Rt) -> None:
    """Zone 2 keeps events 120 days: a run over zone 1 alone still drops only months past that."""
    now = dt.datetime.now(dt.UTC)
    await _seed(rt, now)
    whole = await _partitions_ending_by(rt, now - 120 * DAY)
    report = await run_retention(rt.app, _policies(Storage())[:1], service=SERVICE, sessions=rt.sessions, zones=[1])
    assert report.partitions_dropped["events"] == len(whole)
    assert (await rt.labels("events"))[2] >= {"e100", "e70"}


async def test_the_owner_delete_function_refuses_a_bad_limit(rt: Rt) -> None:
    for limit in (None, 0, -1, 10001):
        with pytest.raises(DBAPIError, match="p_limit must be 1..10000"):
            async with tenant_transaction(rt.sessions, ZONE_ADMIN_1) as s:
                await s.execute(text("SELECT rt.delete_old_audit(1, now(), :n)"), {"n": limit})
    async with tenant_transaction(rt.sessions, ZONE_ADMIN_1) as s:
        assert (await s.execute(text("SELECT rt.delete_old_audit(1, now(), 10000)"))).scalar_one() == 0


async def test_every_security_definer_function_of_the_platform_puts_pg_temp_last(test_db: TestDatabase) -> None:
    """After every service's migrations (classroom 0002 and exam 0005 re-create the partition
    functions 0001/0002 made): an owner's function whose search_path leaves pg_temp out searches
    it first for relations, so a caller's temp table could stand in for one it reads."""
    rows = await test_db.sql(
        "SELECT n.nspname || '.' || p.proname, coalesce(array_to_string(p.proconfig, ';'), '') FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prosecdef"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')")
    assert rows
    bad = {name: config for name, config in rows
           if not any(c.startswith("search_path=") and c.replace(" ", "").endswith(",pg_temp")
                      for c in config.split(";"))}
    assert not bad
