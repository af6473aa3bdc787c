"""Retention (seed 002, issue #14) against the real service's database: rows are written as the
superuser at chosen ages in two zones and two orgs, then `run_retention` runs with the real
clock and with the clock moved forward; each step checks what is gone and what stays, that
old monthly partitions were dropped whole, that only one run holds the lock at a time and
that a failed run still unlocks, and that the metrics moved."""
from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from megacity.db import make_engine
from megacity.telemetry_testing import sample_value
from megacity.testing import superuser_sql
from services.classroom.retention.service import RetentionReport, run_retention
from services.classroom.tests.conftest import ClassroomApp

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
ZONES = (1, 2)
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Ages of the rows written per (zone, org); DEFAULT_AGE has no monthly partition (DEFAULT).
DEFAULT_AGE = 3 * 365 * DAY
MESSAGE_AGES = {"m40": 40 * DAY, "m30_old": 30 * DAY + HOUR, "m30_new": 30 * DAY - HOUR, "m20": 20 * DAY,
                "m0": dt.timedelta(minutes=1), "m_default": DEFAULT_AGE}
LOG_AGES = {"l100": 100 * DAY, "l90_old": 90 * DAY + HOUR, "l60": 60 * DAY, "l_default": DEFAULT_AGE}
LOCK_HELD = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
             " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
             " AND objid::bigint = (hashtext('classroom.retention')::bigint & 4294967295)")


def _code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(8))


def _sample(name: str, **labels: str) -> float:
    return sample_value(name, labels) or 0.0


def _deleted(table: str, how: str) -> float:
    """What retention removed from a table: rows, or whole monthly partitions (megacity.retention)."""
    name = "mc_retention_partitions_dropped_total" if how == "partition" else "mc_retention_rows_deleted_total"
    return _sample(name, service="classroom", table=table)


def _context(classroom: ClassroomApp) -> tuple[Any, Any]:
    return classroom.runtime.app.state.resources, classroom.runtime.app.state.classroom.settings


async def _sql(engine: AsyncEngine, query: str, **params: Any) -> list[Any]:
    return await superuser_sql(engine, query, **params)


async def _ensure_old_partitions(classroom: ClassroomApp) -> None:
    """Months back to 8 months ago, as the owner role (the function's owner; the app role may not)."""
    owner = make_engine(classroom.db.owner_url("classroom"), pool_size=1)
    try:
        async with owner.begin() as conn:
            await conn.execute(text("SELECT classroom.ensure_month_partitions("
                                    "(date_trunc('month', now()) - interval '8 months')::date, 9)"))
    finally:
        await owner.dispose()


async def _session(su: AsyncEngine, zone: int, org: uuid.UUID, label: str, status: str, started: dt.datetime,
                   ended: dt.datetime | None, *, homework_until: dt.datetime | None = None,
                   with_play: bool = False) -> uuid.UUID:
    sid = uuid.uuid4()
    expires = started + dt.timedelta(hours=2) if status == "active" else started + dt.timedelta(minutes=30)
    await _sql(su, "INSERT INTO classroom.sessions (id, zone_id, org_id, class_id, teacher_id, code, title, status,"
               " started_at, expires_at, ended_at, homework_code, homework_until) VALUES (:id, :z, :o, :c, :t, :code,"
               " :title, :st, :sa, :ea, :ended, :hc, :hu)",
               id=sid, z=zone, o=org, c=uuid.uuid4(), t=uuid.uuid4(), code=_code(), title=label, st=status,
               sa=started, ea=expires, ended=ended, hc=_code() if homework_until else None, hu=homework_until)
    if with_play:
        pid = uuid.uuid4()
        await _sql(su, "INSERT INTO classroom.participants (id, zone_id, org_id, session_id, nickname, nickname_key,"
                   " avatar, joined_at) VALUES (:p, :z, :o, :s, 'Mina', 'mina', 'fox', :at)",
                   p=pid, z=zone, o=org, s=sid, at=started)
        await _sql(su, "INSERT INTO classroom.session_cards (zone_id, org_id, session_id, card_no, problem_id, shown_at,"
                   " closes_at) VALUES (:z, :o, :s, 1, :pr, :at, :at + interval '30 seconds')",
                   z=zone, o=org, s=sid, pr=uuid.uuid4(), at=started)
        await _sql(su, "INSERT INTO classroom.answers (zone_id, org_id, session_id, card_no, participant_id, answer,"
                   " correct, points, elapsed_ms, answered_at) VALUES (:z, :o, :s, 1, :p, '42', true, 900, 1200, :at)",
                   z=zone, o=org, s=sid, p=pid, at=started)
    return sid


async def _seed(classroom: ClassroomApp, su: AsyncEngine, now: dt.datetime) -> None:
    orgs = (classroom.org_a, classroom.org_b)
    for zone in ZONES:
        for org in orgs:
            for label, age in MESSAGE_AGES.items():
                await _sql(su, "INSERT INTO classroom.messages (zone_id, org_id, session_id, author, body, created_at)"
                           " VALUES (:z, :o, :s, 'Mina', :b, :at)", z=zone, o=org, s=uuid.uuid4(), b=label, at=now - age)
            for label, age in LOG_AGES.items():
                await _sql(su, "INSERT INTO classroom.session_logs (zone_id, org_id, session_id, kind, at)"
                           " VALUES (:z, :o, :s, :k, :at)", z=zone, o=org, s=uuid.uuid4(), k=label, at=now - age)
            await _session(su, zone, org, "s200", "ended", now - 200 * DAY - HOUR, now - 200 * DAY, with_play=True)
            await _session(su, zone, org, "s190_expired", "expired", now - 190 * DAY - HOUR,
                           now - 190 * DAY - HOUR + dt.timedelta(minutes=30))
            await _session(su, zone, org, "s100", "ended", now - 100 * DAY - HOUR, now - 100 * DAY, with_play=True)
            # Homework still open: kept although the live session ended long ago.
            await _session(su, zone, org, "s200_homework", "ended", now - 200 * DAY - HOUR, now - 200 * DAY,
                           homework_until=now + 30 * DAY)
            # Active: an ended_at in the far past (never written for an active one) still must not count.
            await _session(su, zone, org, "active", "active", now - dt.timedelta(minutes=5), now - 300 * DAY,
                           with_play=True)
    await _sql(su, "INSERT INTO classroom.outbox (event_type, subject, payload, created_at, published_at) VALUES"
               " ('t.old', 's', '{}', :old, :old), ('t.new', 's', '{}', :new, :new), ('t.unpublished', 's', '{}', :old, NULL)",
               old=now - 8 * DAY, new=now - DAY)
    await _sql(su, "INSERT INTO classroom.inbox (consumer, msg_id, processed_at) VALUES ('c', 'old', :old), ('c', 'new', :new)",
               old=now - 8 * DAY, new=now - DAY)


async def _labels(su: AsyncEngine, query: str) -> dict[tuple[int, uuid.UUID], set[str]]:
    out: dict[tuple[int, uuid.UUID], set[str]] = {}
    for r in await _sql(su, query):
        out.setdefault((r[0], r[1]), set()).add(r[2])
    return out


async def _partitions(su: AsyncEngine, parent: str) -> dict[str, str]:
    """Partition name -> bound expression, from the catalogue."""
    rows = await _sql(su, "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
                      " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = (:p)::regclass",
                      p=f"classroom.{parent}")
    return {r[0]: r[1] for r in rows}


async def _upper_bounds(su: AsyncEngine, parent: str) -> dict[str, dt.datetime]:
    out = {}
    for name, bound in (await _partitions(su, parent)).items():
        if bound != "DEFAULT":
            out[name] = (await _sql(su, "SELECT (substring(:b FROM 'TO \\(''([^'']+)''\\)'))::timestamptz", b=bound))[0][0]
    return out


async def _expected(su: AsyncEngine, table: str, col: str, cutoff: dt.datetime) -> tuple[int, int]:
    """(partitions that end by the cutoff, rows older than it outside those): what a run must report."""
    ends = await _upper_bounds(su, table)
    dropped = {name for name, end in ends.items() if end <= cutoff}
    parts = Counter(r[0] for r in await _sql(
        su, f"SELECT tableoid::regclass::text FROM classroom.{table} WHERE {col} < :c", c=cutoff))
    return len(dropped), sum(n for part, n in parts.items() if part.removeprefix("classroom.") not in dropped)


def _every(classroom: ClassroomApp, labels: set[str]) -> dict[tuple[int, uuid.UUID], set[str]]:
    return {(z, o): set(labels) for z in ZONES for o in (classroom.org_a, classroom.org_b) if labels}


async def _check(classroom: ClassroomApp, su: AsyncEngine, messages: set[str], logs: set[str],
                 sessions: set[str]) -> None:
    assert await _labels(su, "SELECT zone_id, org_id, body FROM classroom.messages") == _every(classroom, messages)
    assert await _labels(su, "SELECT zone_id, org_id, kind FROM classroom.session_logs") == _every(classroom, logs)
    assert await _labels(su, "SELECT zone_id, org_id, title FROM classroom.sessions") == _every(classroom, sessions)
    # Cascade: participants, cards and answers exist exactly for the sessions left that had play.
    played = {"s200", "s100", "active"} & sessions
    for table in ("participants", "session_cards", "answers"):
        got = await _labels(su, f"SELECT t.zone_id, t.org_id, s.title FROM classroom.{table} t"
                            " JOIN classroom.sessions s ON s.id = t.session_id")
        assert got == _every(classroom, played), table
        orphans = await _sql(su, f"SELECT count(*) FROM classroom.{table} t WHERE NOT EXISTS"
                             " (SELECT 1 FROM classroom.sessions s WHERE s.id = t.session_id)")
        assert orphans[0][0] == 0, table


async def test_retention_drops_old_months_and_rows_as_the_clock_moves(classroom: ClassroomApp) -> None:
    res, settings = _context(classroom)
    await _ensure_old_partitions(classroom)
    su = classroom.db.superuser_engine()
    try:
        now = dt.datetime.now(dt.UTC)
        await _seed(classroom, su, now)
        eight_back = (now.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        for _ in range(7):
            eight_back = (eight_back - dt.timedelta(days=1)).replace(day=1)
        oldest = {t: f"{t}_{eight_back:%Y_%m}" for t in ("messages", "session_logs")}
        for t, name in oldest.items():
            assert name in await _partitions(su, t)
        expect = {"messages": await _expected(su, "messages", "created_at", now - 30 * DAY),
                  "session_logs": await _expected(su, "session_logs", "at", now - 90 * DAY)}
        before = {key: _deleted(key[0], key[1])
                  for key in (("messages", "partition"), ("messages", "rows"), ("session_logs", "partition"),
                              ("session_logs", "rows"), ("sessions", "rows"), ("outbox", "rows"), ("inbox", "rows"))}
        runs_before = _sample("mc_retention_runs_total", service="classroom", outcome="ran")
        hist_before = _sample("mc_retention_run_seconds_count", service="classroom")

        # 1. The real clock.
        report = await run_retention(res, settings)
        assert isinstance(report, RetentionReport) and not report.skipped
        for t in ("messages", "session_logs"):
            assert expect[t][0] >= 4  # from 8 months back to the month before the cutoff's
            assert (report.partitions_dropped[t], report.rows_deleted[t]) == expect[t], t
            parts = await _partitions(su, t)
            assert oldest[t] not in parts and f"{t}_default" in parts
            cutoff = now - (30 if t == "messages" else 90) * DAY
            assert all(end > cutoff for end in (await _upper_bounds(su, t)).values()), t
        assert report.rows_deleted["sessions"] == 2 * len(ZONES) * 2  # s200 and s190_expired per zone and org
        assert (report.rows_deleted["outbox"], report.rows_deleted["inbox"]) == (1, 1)
        await _check(classroom, su, messages={"m30_new", "m20", "m0"}, logs={"l60"},
                     sessions={"s100", "s200_homework", "active"})
        assert {r[0] for r in await _sql(su, "SELECT event_type FROM classroom.outbox")} == {"t.new", "t.unpublished"}
        assert [r[0] for r in await _sql(su, "SELECT msg_id FROM classroom.inbox")] == ["new"]

        assert _deleted("messages", "partition") == \
            before[("messages", "partition")] + expect["messages"][0]
        assert _deleted("messages", "rows") == \
            before[("messages", "rows")] + expect["messages"][1]
        assert _deleted("sessions", "rows") == \
            before[("sessions", "rows")] + 8
        assert _deleted("inbox", "rows") == before[("inbox", "rows")] + 1
        assert _sample("mc_retention_runs_total", service="classroom", outcome="ran") == runs_before + 1
        assert _sample("mc_retention_run_seconds_count", service="classroom") == hist_before + 1
        assert _sample("mc_retention_last_run_timestamp_seconds", service="classroom") >= now.timestamp()

        # 2. Again at once: nothing left to do.
        again = await run_retention(res, settings)
        assert sum(again.partitions_dropped.values()) == 0
        assert sum(again.rows_deleted.values()) == 0

        # 3. Fifteen days on: the 20-day-old chat goes; logs and sessions are still within theirs.
        later = await run_retention(res, settings, now=now + 15 * DAY)
        assert later.rows_deleted["messages"] + later.partitions_dropped["messages"] >= 1
        await _check(classroom, su, messages={"m0"}, logs={"l60"},
                     sessions={"s100", "s200_homework", "active"})

        # 4. A hundred days on: all chat, the 60-day-old logs and the session ended 100 days ago go;
        # the active session and the one with open homework stay.
        far = await run_retention(res, settings, now=now + 100 * DAY)
        assert far.rows_deleted["sessions"] == 4
        await _check(classroom, su, messages=set(), logs=set(), sessions={"s200_homework", "active"})
        # The clock moved, the database's did not: no month younger than the table's retention
        # (migration 0002's floor) is dropped whole; its rows went one by one.
        assert far.partitions_dropped == {"messages": 0, "session_logs": 0}
        assert f"messages_{now:%Y_%m}" in await _partitions(su, "messages")
    finally:
        await su.dispose()


async def test_one_run_at_a_time_and_always_unlocked(classroom: ClassroomApp) -> None:
    res, settings = _context(classroom)
    su = classroom.db.superuser_engine()
    blocker_engine = classroom.db.superuser_engine()
    skipped_before = _sample("mc_retention_runs_total", service="classroom", outcome="skipped")
    try:
        # Hold the first run inside its work (it waits for the sessions table), lock taken.
        async with blocker_engine.connect() as blocker:
            await blocker.begin()
            await blocker.execute(text("LOCK TABLE classroom.sessions IN SHARE ROW EXCLUSIVE MODE"))
            first = asyncio.create_task(run_retention(res, settings))
            for _ in range(200):
                if (await _sql(su, LOCK_HELD))[0][0] == 1:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the first run never took the lock")
            second = await run_retention(res, settings)
            assert second.skipped and not second.rows_deleted and not second.partitions_dropped
            assert not first.done()
            await blocker.rollback()
        report = await asyncio.wait_for(first, 30)
        assert not report.skipped
        assert _sample("mc_retention_runs_total", service="classroom", outcome="skipped") == skipped_before + 1
        assert (await _sql(su, LOCK_HELD))[0][0] == 0

        # A run that fails still unlocks: the next one runs.
        failed_before = _sample("mc_retention_runs_total", service="classroom", outcome="failed")
        broken = settings.model_copy(update={"retain_messages_days": 10**7})
        try:
            await run_retention(res, broken)
        except OverflowError:
            pass
        else:
            raise AssertionError("expected the impossible cutoff to fail")
        assert _sample("mc_retention_runs_total", service="classroom", outcome="failed") == failed_before + 1
        assert (await _sql(su, LOCK_HELD))[0][0] == 0
        assert not (await run_retention(res, settings)).skipped
    finally:
        await su.dispose()
        await blocker_engine.dispose()
