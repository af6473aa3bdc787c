"""One retention mechanism for every service that keeps data with a lifetime (issue #17 §2).

A service lists its tables as `RetentionPolicy`s and calls `run_retention` (or runs a
`RetentionWorker`) on every replica; one replica at a time does the work:

- the run lock is a session-level advisory lock (`<service>.retention`) taken on one dedicated
  connection inside a transaction kept open for the whole run, so a transaction-pooling PgBouncer
  keeps the same server connection for the lock and its unlock (autocommit statements could land
  on two backends and leave the lock held for good). It is always unlocked; a connection that
  cannot unlock is closed (closing a backend releases its locks). A replica that cannot take the
  lock skips the run (`RetentionReport.skipped`);
- monthly-partitioned tables (megacity.db.partitions): whole partitions that end at or before the
  cutoff of the longest-kept zone of the registry are dropped by the owner's SECURITY DEFINER
  `<schema>.drop_month_partitions_before(parent, cutoff)` (the app role cannot drop tables; no
  dead tuples; never a month younger than the table's minimum age; a busy month waits for the
  next run), then the rows left (the straddling month, DEFAULT) are deleted in batches like any
  other table;
- other tables: per zone, as that zone's `zone_admin` (RLS bounds every statement to the zone),
  in batches of `batch_size` rows, one short transaction each, at most `max_batches` per table
  and zone per run: a large backlog is worked off over several runs instead of holding the lock;
- a policy may add a condition (`where`), keep a zone longer or shorter (`zone_max_age`), hand
  the deleted rows to `on_delete` inside the batch's transaction, or delete through an owner's
  function (`delete_function`) where the app role may not delete (append-only audit tables).
  A batch deletes its rows, then `on_delete` removes their objects, then it commits: if
  `on_delete` fails the rows stay (retried next run; objects it already removed stay removed, so
  a row must survive its object being gone), and if the commit fails after it the objects are
  gone and the rows go next run;
- published outbox rows and processed inbox entries (`outbox=`) older than `outbox_keep`, in
  batches too.

`now` moves the clock (tests); the outbox prune keeps the real clock (redelivery horizon).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from megacity.db.partitions import DEFINER_PLPGSQL
from megacity.db.tenant import TenantContext, system_transaction, tenant_transaction
from megacity.events.outbox import prune
from megacity.telemetry.logs import get_logger
from megacity.zones import registry

if TYPE_CHECKING:
    from megacity.runtime import Resources

__all__ = ["BATCH_SIZE", "MAX_BATCHES", "OUTBOX_KEEP", "OWNER_DELETE_MAX", "ROWS_DELETED", "OnDelete",
           "RetentionPolicy", "RetentionReport", "RetentionWorker", "days", "drop_month_partitions_sql",
           "outbox_worker", "owner_delete_function_sql", "run_retention", "zone_days"]

log = get_logger("megacity.retention")

BATCH_SIZE = 5000
MAX_BATCHES = 200
OUTBOX_KEEP = dt.timedelta(days=7)
# The most rows one call of an owner's delete function takes (it refuses more).
OWNER_DELETE_MAX = 10000

ROWS_DELETED = Counter("mc_retention_rows_deleted_total", "Rows retention deleted", ["service", "table"])
PARTITIONS_DROPPED = Counter("mc_retention_partitions_dropped_total",
                             "Whole monthly partitions retention dropped", ["service", "table"])
LAST_RUN = Gauge("mc_retention_last_run_timestamp_seconds",
                 "Unix time this replica last finished a retention run", ["service"])
RUN_SECONDS = Histogram("mc_retention_run_seconds", "Duration of a retention run that took the lock", ["service"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800))
RUNS = Counter("mc_retention_runs_total", "Retention runs, by outcome (ran, skipped, failed)", ["service", "outcome"])

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_COLUMNS = re.compile(r"^[a-z_][a-z0-9_]{0,62}(\s*,\s*[a-z_][a-z0-9_]{0,62})*$")

# Gets the rows one batch deleted (their `returning` columns), inside the batch's transaction.
OnDelete = Callable[[AsyncSession, Sequence[Mapping[str, Any]]], Awaitable[None]]


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def zone_days(by_zone_key: Mapping[str, int | None]) -> dict[int, dt.timedelta | None]:
    """A setting keyed by zone key (`{"kzone-ai": 30}`) as `zone_max_age` (zone id -> age; None:
    kept for ever). An unknown zone key is an error: a typo must not silently keep the default."""
    reg = registry()
    return {reg.zone(key).id: (None if n is None else days(n)) for key, n in by_zone_key.items()}


@dataclass(frozen=True)
class RetentionPolicy:
    """How long one table keeps its rows.

    table: "schema.table" (checked identifiers, the only names formatted into SQL);
    time_column: the row's age is measured from it (rows with it older than now - max_age go);
      "" where the row has no time of its own and `where` measures it with `:cutoff` (e.g. child
      rows of old parents, deleted in batches before the parents so no cascade is unbounded);
    partitioned: monthly partitions by `time_column` (drops whole months first);
    zone_max_age: per-zone override (zone id -> age, None: kept for ever in that zone);
    where: extra SQL condition on the candidate row, aliased `t` (`:cutoff`, `:zone_id` bound),
      e.g. "t.status IN ('ended', 'expired')" — a constant of the service's code, never built
      from input; not with `partitioned` (a dropped month takes every row in it);
    key: the columns that name a row (a partitioned table: include the partition key, a ctid
      names a row only within one partition);
    returning / on_delete: columns of the deleted rows handed to `on_delete`;
    delete_function: "schema.fn" called as fn(zone_id, cutoff, limit) -> rows deleted, for tables
      the app role may not delete from (an owner's SECURITY DEFINER function); `where`,
      `on_delete` do not apply;
    batch_size: rows per batch (default: the run's) — keep it small when `on_delete` calls out;
    label: the `table` label of metrics and the report (default: the table without schema).
    """

    table: str
    time_column: str
    max_age: dt.timedelta
    partitioned: bool = False
    zone_max_age: Mapping[int, dt.timedelta | None] = field(default_factory=dict)
    where: str = ""
    key: str = "id"
    returning: tuple[str, ...] = ()
    on_delete: OnDelete | None = None
    delete_function: str | None = None
    batch_size: int | None = None
    label: str = ""

    def __post_init__(self) -> None:
        schema, _, name = self.table.partition(".")
        for ident in (schema, name, *([self.time_column] if self.time_column else []), *self.returning):
            if not _IDENT.match(ident):
                raise ValueError(f"bad identifier {ident!r} in retention policy of {self.table!r}")
        if not self.time_column and (":cutoff" not in self.where or self.partitioned or self.delete_function):
            raise ValueError("without a time_column, `where` measures the age (:cutoff); not partitioned")
        if not _COLUMNS.match(self.key):
            raise ValueError(f"bad key {self.key!r}")
        if self.delete_function is not None:
            fn_schema, _, fn = self.delete_function.partition(".")
            if not (_IDENT.match(fn_schema) and _IDENT.match(fn)):
                raise ValueError(f"bad function name {self.delete_function!r}")
            if self.on_delete or self.where or self.partitioned:
                raise ValueError("delete_function takes no where, on_delete or partitions")
        if self.partitioned and (self.where or self.on_delete):
            raise ValueError("a partitioned policy drops whole months: no where or on_delete")
        if self.on_delete is not None and not self.returning:
            raise ValueError("on_delete needs the columns it gets (returning)")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError("batch_size must be positive")
        if not self.label:
            object.__setattr__(self, "label", name)

    @property
    def schema(self) -> str:
        return self.table.partition(".")[0]

    @property
    def name(self) -> str:
        return self.table.partition(".")[2]

    def cutoff(self, zone_id: int, now: dt.datetime) -> dt.datetime | None:
        """Rows of the zone older than this go; None: the zone keeps them."""
        age = self.zone_max_age[zone_id] if zone_id in self.zone_max_age else self.max_age
        return None if age is None else now - age

    def delete_sql(self) -> str:
        if self.delete_function is not None:
            return f"SELECT {self.delete_function}(:zone_id, :cutoff, :n)"
        extra = f" AND ({self.where})" if self.where else ""
        returning = f" RETURNING {', '.join(self.returning)}" if self.returning else ""
        if self.time_column:
            age, order = f" AND t.{self.time_column} < :cutoff", f" ORDER BY t.{self.time_column}"
        else:
            age = order = ""  # `where` has the age
        return (f"DELETE FROM {self.table} WHERE ({self.key}) IN (SELECT {_alias(self.key)} FROM {self.table} t"
                f" WHERE t.zone_id = :zone_id{age}{extra}{order} LIMIT :n FOR UPDATE SKIP LOCKED){returning}")


def _alias(key: str) -> str:
    return ", ".join(f"t.{c.strip()}" for c in key.split(","))


@dataclass(frozen=True)
class RetentionReport:
    """What one run did. `skipped`: another replica held the lock, nothing was done.
    partitions_dropped / rows_deleted: label -> count (cascaded rows not counted; outbox and
    inbox included when pruned); `backlog`: labels whose batches ran out before the rows did."""

    skipped: bool
    now: dt.datetime
    partitions_dropped: Mapping[str, int] = field(default_factory=dict)
    rows_deleted: Mapping[str, int] = field(default_factory=dict)
    backlog: frozenset[str] = frozenset()
    seconds: float = 0.0


async def run_retention(engine: AsyncEngine, policies: Sequence[RetentionPolicy], *, service: str,
                        now: dt.datetime | None = None, sessions: async_sessionmaker[AsyncSession] | None = None,
                        outbox: str | None = None, outbox_keep: dt.timedelta = OUTBOX_KEEP,
                        zones: Iterable[int] | None = None, batch_size: int = BATCH_SIZE,
                        max_batches: int = MAX_BATCHES, lock_name: str | None = None) -> RetentionReport:
    """One run over `policies` (in order: put rows that others reference last) and, with
    `outbox="<schema>"`, that schema's outbox and inbox. `zones`: the registry's by default."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    sessions = sessions or async_sessionmaker(engine, expire_on_commit=False)
    zone_ids = list(zones) if zones is not None else [z.id for z in registry().zones]
    lock = lock_name or f"{service}.retention"
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            try:
                await conn.begin()
                # The lock's transaction idles while the run works on other connections.
                await conn.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
                locked = await _try_lock(conn, lock)
            except BaseException:
                # A lock the failed statement may still have taken goes with the backend.
                with contextlib.suppress(Exception):
                    await conn.invalidate()
                raise
            if not locked:
                RUNS.labels(service, "skipped").inc()
                log.info("retention skipped", service=service, reason="another replica holds the lock")
                return RetentionReport(skipped=True, now=now)
            try:
                run = _Run(service, sessions, now, zone_ids, batch_size, max_batches)
                for policy in policies:
                    await run.policy(policy)
                if outbox is not None:
                    await run.outbox(outbox, outbox_keep)
            finally:
                await _release(conn, lock)
    except Exception:
        RUNS.labels(service, "failed").inc()
        raise
    seconds = time.perf_counter() - started
    RUNS.labels(service, "ran").inc()
    RUN_SECONDS.labels(service).observe(seconds)
    LAST_RUN.labels(service).set(time.time())
    report = RetentionReport(skipped=False, now=now, partitions_dropped=run.dropped, rows_deleted=run.deleted,
                             backlog=frozenset(run.backlog), seconds=round(seconds, 3))
    log.info("retention run", service=service, now=now.isoformat(), seconds=report.seconds,
             partitions_dropped=run.dropped, rows_deleted=run.deleted, backlog=sorted(run.backlog))
    return report


class _Run:
    """The counters of one run that holds the lock."""

    def __init__(self, service: str, sessions: async_sessionmaker[AsyncSession], now: dt.datetime,
                 zone_ids: list[int], batch_size: int, max_batches: int) -> None:
        self.service, self.sessions, self.now, self.zone_ids = service, sessions, now, zone_ids
        self.batch_size, self.max_batches = batch_size, max_batches
        self.dropped: dict[str, int] = {}
        self.deleted: dict[str, int] = {}
        self.backlog: set[str] = set()

    async def policy(self, p: RetentionPolicy) -> None:
        cutoffs = {z: p.cutoff(z, self.now) for z in self.zone_ids}
        if p.partitioned:
            # Partitions hold every zone: only months past the longest-kept zone's cutoff go whole,
            # over every zone of the registry even when this run works on some (`zones=`).
            self.dropped[p.label] = 0
            every = {*self.zone_ids, *(z.id for z in registry().zones)}
            kept = [p.cutoff(z, self.now) for z in every]
            if all(c is not None for c in kept):
                oldest = min(c for c in kept if c is not None)
                async with system_transaction(self.sessions) as s:
                    n = int((await s.execute(text(f"SELECT {p.schema}.drop_month_partitions_before(:t, :c)"),
                                             {"t": p.name, "c": oldest})).scalar_one())
                self.dropped[p.label] = n
                PARTITIONS_DROPPED.labels(self.service, p.label).inc(n)
        self.deleted[p.label] = 0
        sql = text(p.delete_sql())
        limit = p.batch_size or self.batch_size
        if p.delete_function is not None:
            limit = min(limit, OWNER_DELETE_MAX)
        for zone_id, cutoff in cutoffs.items():
            if cutoff is None:
                continue
            for _ in range(self.max_batches):
                params = {"zone_id": zone_id, "cutoff": cutoff, "n": limit}
                async with tenant_transaction(self.sessions, TenantContext(zone_id=zone_id, role="zone_admin")) as s:
                    result = await s.execute(sql, params)
                    if p.delete_function is not None:
                        n = int(result.scalar_one())
                    elif p.on_delete is not None:
                        rows = [dict(r._mapping) for r in result]
                        n = len(rows)
                        if rows:
                            await p.on_delete(s, rows)
                    else:
                        n = int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of a DELETE
                self.deleted[p.label] += n
                ROWS_DELETED.labels(self.service, p.label).inc(n)
                if n < limit:
                    break
            else:
                self.backlog.add(p.label)
                log.info("retention backlog left for the next run", service=self.service, table=p.label,
                         zone_id=zone_id)

    async def outbox(self, schema: str, keep: dt.timedelta) -> None:
        """Batches of `batch_size`, one short transaction each, like the tables."""
        self.deleted["outbox"] = self.deleted["inbox"] = 0
        for _ in range(self.max_batches):
            async with system_transaction(self.sessions) as s:
                out, inb = await prune(s, schema, older_than=keep, limit=self.batch_size)
            self.deleted["outbox"] += out
            self.deleted["inbox"] += inb
            ROWS_DELETED.labels(self.service, "outbox").inc(out)
            ROWS_DELETED.labels(self.service, "inbox").inc(inb)
            if out < self.batch_size and inb < self.batch_size:
                return
        self.backlog.add("outbox")
        log.info("retention backlog left for the next run", service=self.service, table="outbox")


async def _try_lock(conn: AsyncConnection, name: str) -> bool:
    """The replica-wide run lock (session level: it outlives the statement's transaction)."""
    return bool((await conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:n))"), {"n": name})).scalar_one())


async def _release(conn: AsyncConnection, name: str) -> None:
    """Unlock on the connection that locked, then end its transaction. If that fails (or the task
    is cancelled meanwhile), close the connection instead: its backend's locks go with it."""
    try:
        if not (await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:n))"), {"n": name})).scalar_one():
            log.warning("retention lock was not held at unlock", lock=name)
        await conn.commit()
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await conn.invalidate()
        if not isinstance(exc, Exception):
            raise
        log.warning("could not release the retention lock; connection closed", lock=name, error=str(exc)[:300])


# Both functions run as the owner: search_path pins pg_catalog first and pg_temp LAST (left out,
# pg_temp is searched first for relations, and a caller's temp table named pg_class would stand in
# for the catalogue), and catalogue names are qualified as well.
_DROP_PARTITIONS = """
CREATE OR REPLACE FUNCTION __SCHEMA__.drop_month_partitions_before(p_parent text, p_cutoff timestamptz)
RETURNS integer
""" + DEFINER_PLPGSQL + """SET lock_timeout = '2s'
AS $$
DECLARE
    r record;
    min_age interval;
    dropped integer := 0;
BEGIN
    min_age := CASE p_parent __MIN_AGES__ END;
    IF min_age IS NULL THEN
        RAISE EXCEPTION 'not a partitioned __SCHEMA__ table: %', p_parent;
    END IF;
    IF p_cutoff IS NULL THEN
        RAISE EXCEPTION 'p_cutoff is required';
    END IF;
    -- The floor holds whatever clock or setting the caller has.
    p_cutoff := least(p_cutoff, pg_catalog.now() - min_age);
    BEGIN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('__LOCK__'));
    EXCEPTION WHEN lock_not_available THEN
        RAISE WARNING 'partitions of __SCHEMA__.% are being changed: left for the next run', p_parent;
        RETURN 0;
    END;
    FOR r IN
        SELECT c.relname AS name, pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_catalog.pg_inherits i
        JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
        JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
        JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = '__SCHEMA__' AND p.relname = p_parent
    LOOP
        CONTINUE WHEN r.bound = 'DEFAULT';
        IF (pg_catalog.substring(r.bound, 'TO \\(''([^'']+)''\\)'))::timestamptz <= p_cutoff THEN
            -- DROP takes ACCESS EXCLUSIVE on the parent: a busy month waits for the next run
            -- (lock_timeout) instead of queueing every reader and writer behind it.
            BEGIN
                EXECUTE pg_catalog.format('DROP TABLE __SCHEMA__.%I', r.name);
                dropped := dropped + 1;
            EXCEPTION WHEN lock_not_available THEN
                RAISE WARNING 'partition __SCHEMA__.% is busy: left for the next run', r.name;
            END;
        END IF;
    END LOOP;
    RETURN dropped;
END
$$"""

_OWNER_DELETE = """
CREATE OR REPLACE FUNCTION __FUNCTION__(p_zone integer, p_cutoff timestamptz, p_limit integer)
RETURNS integer
""" + DEFINER_PLPGSQL + """AS $$
DECLARE
    deleted integer;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > __MAX_LIMIT__ THEN
        RAISE EXCEPTION 'p_limit must be 1..__MAX_LIMIT__';
    END IF;
    -- The floor holds whatever clock or setting the caller has.
    p_cutoff := least(p_cutoff, pg_catalog.now() - interval '__MIN_AGE__ seconds');
    DELETE FROM __TABLE__ WHERE (__KEY__) IN (
        SELECT __KEY__ FROM __TABLE__ WHERE zone_id = p_zone AND __COLUMN__ < p_cutoff
        ORDER BY __COLUMN__ LIMIT p_limit FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$"""


def _interval(age: dt.timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 0:
        raise ValueError("a minimum age cannot be negative")
    return f"interval '{seconds} seconds'"


def drop_month_partitions_sql(schema: str, parents: Mapping[str, dt.timedelta], lock: str | None = None) -> str:
    """The owner's SECURITY DEFINER `<schema>.drop_month_partitions_before(parent, cutoff)` that
    partitioned policies call: drops the monthly partitions (megacity.db.partitions) of one of
    `parents` that end at or before the cutoff, never DEFAULT; names are read from the catalogue.
    `parents`: table -> minimum age (its policy's max age): a month that ends less than that
    before the database's clock stays whatever cutoff is passed. A month whose table is busy
    (lock_timeout 2 s) is left for the next run. `lock`: share it with
    `ensure_month_partitions_sql` (default: the same default name)."""
    for name in (schema, *parents):
        if not _IDENT.match(name):
            raise ValueError(f"bad identifier {name!r}")
    if not parents:
        raise ValueError("no partitioned tables")
    ages = " ".join(f"WHEN '{p}' THEN {_interval(age)}" for p, age in parents.items())
    return (_DROP_PARTITIONS.replace("__MIN_AGES__", ages)
            .replace("__LOCK__", lock or f"{schema}.ensure_month_partitions").replace("__SCHEMA__", schema))


def owner_delete_function_sql(function: str, table: str, time_column: str, *, min_age: dt.timedelta,
                              key: str = "id") -> str:
    """A SECURITY DEFINER `function(zone_id, cutoff, limit) -> rows deleted` for a table the app
    role may not delete from (append-only audit): the owner creates it in a migration and grants
    EXECUTE to the app role; the policy names it as `delete_function`. Rows younger than
    `min_age` are never deleted, whatever cutoff the caller passes; a limit outside
    1..OWNER_DELETE_MAX is refused. RLS still applies (FORCE): the caller's zone_admin context
    bounds it to the zone."""
    fn_schema, _, fn = function.partition(".")
    schema, _, name = table.partition(".")
    for ident in (fn_schema, fn, schema, name, time_column):
        if not _IDENT.match(ident):
            raise ValueError(f"bad identifier {ident!r}")
    if not _COLUMNS.match(key):
        raise ValueError(f"bad key {key!r}")
    _interval(min_age)
    return (_OWNER_DELETE.replace("__FUNCTION__", function).replace("__SCHEMA__", schema)
            .replace("__TABLE__", table).replace("__KEY__", key).replace("__COLUMN__", time_column)
            .replace("__MAX_LIMIT__", str(OWNER_DELETE_MAX))
            .replace("__MIN_AGE__", str(int(min_age.total_seconds()))))


class RetentionWorker:
    """A runtime worker (megacity.runtime.Worker) that calls `run()` of the service every
    `interval` seconds, first `first_delay` seconds after start (a replica restarted more often
    than the interval must still run it; the lock keeps replicas from running together).
    `run` builds its policies each time, so settings read at run time apply. A failed run is
    logged and retried at the next interval; it never stops the service."""

    def __init__(self, run: Callable[[], Awaitable[RetentionReport]], *, service: str, interval: float = 3600.0,
                 first_delay: float = 60.0) -> None:
        self._run, self.service, self.interval, self.first_delay = run, service, interval, first_delay
        self._stop = asyncio.Event()

    async def run(self) -> None:
        delay = self.first_delay
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            if self._stop.is_set():
                return
            try:
                await self._run()
            except Exception as exc:  # noqa: BLE001 - retention must not stop the service
                log.warning("retention run failed", service=self.service, error=str(exc)[:300])
            delay = self.interval

    def stop(self) -> None:
        self._stop.set()


def outbox_worker(res: Resources, service: str, *, interval: float = 3600.0, first_delay: float = 60.0
                  ) -> RetentionWorker:
    """The worker of a service whose only data with a lifetime is its outbox and inbox:
    `workers=[lambda res: outbox_worker(res, "exam")]`."""
    async def run() -> RetentionReport:
        sessions = res.db()
        assert res.engine is not None  # res.db() raised otherwise
        return await run_retention(res.engine, (), service=service, sessions=sessions, outbox=service)
    return RetentionWorker(run, service=service, interval=interval, first_delay=first_delay)
