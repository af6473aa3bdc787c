"""Background upkeep in every classroom process:

- expiry: a session whose time is up becomes `expired`; its class gets `session_ended` and is
  disconnected (4410), and `classroom.session.ended` is published. Two minutes before, the class
  gets `session_ending` once (a Redis flag per expiry time, so an extension warns again).
  Several replicas sweep safely: the UPDATE ... RETURNING hands each session to one of them.
- partitions: the coming months of `messages` and `session_logs` (at start, then every few hours);
- retention (services/classroom/retention): one replica at a time (advisory lock), hourly.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from typing import Any

from sqlalchemy import text

from megacity.db import TenantContext, system_transaction, tenant_transaction
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import registry
from services.classroom import live_state
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import queries as session_queries
from services.classroom.sessions import service as sessions

log = get_logger("classroom.upkeep")
MONTHS_AHEAD = 3
PARTITION_EVERY_S = 6 * 3600
WARN_BEFORE = dt.timedelta(minutes=2)


async def ensure_partitions(res: Resources) -> None:
    """Never fails start-up: a database that is down shows in /readyz users' requests."""
    try:
        async with system_transaction(res.db()) as s:
            created = (await s.execute(text(
                "SELECT classroom.ensure_month_partitions(date_trunc('month', now())::date, :n)"),
                {"n": MONTHS_AHEAD})).scalar_one()
        if created:
            log.info("partitions created", count=created)
    except Exception as exc:  # noqa: BLE001 - upkeep must not stop the service
        log.warning("could not ensure partitions", error=str(exc)[:300])


async def expire_sessions(res: Resources, st: ClassroomState, batch: int = 200) -> int:
    done = 0
    for zone in registry().zones:
        async with tenant_transaction(res.db(), TenantContext(zone_id=zone.id, role="zone_admin")) as s:
            rows = (await s.execute(text(
                f"UPDATE classroom.sessions SET status = 'expired', ended_at = expires_at"
                f" WHERE id IN (SELECT id FROM classroom.sessions WHERE zone_id = :z AND status = 'active'"
                f" AND expires_at <= now() ORDER BY expires_at LIMIT :n FOR UPDATE SKIP LOCKED)"
                f" RETURNING {session_queries.COLUMNS}"), {"z": zone.id, "n": batch})).all()
            ending = (await s.execute(text(
                f"SELECT {session_queries.COLUMNS} FROM classroom.sessions WHERE zone_id = :z AND status = 'active'"
                " AND expires_at > now() AND expires_at <= now() + :warn ORDER BY expires_at LIMIT :n"),
                {"z": zone.id, "warn": WARN_BEFORE, "n": batch})).all()
            expired = [session_queries.SessionRow(**r._mapping) for r in rows]
            for row in expired:
                await session_queries.add_log(s, row, "expired", {})
                await sessions.ended_event(s, row, "expired")
                await sessions.publish_state(res, row)  # under the row locks: no writer can reorder it
        for row in expired:
            await sessions.end_frame(st, row, "expired")
            done += 1
        for r in ending:
            row = session_queries.SessionRow(**r._mapping)
            lk = _keys(res, row)
            if await res.redis.set(lk.room.key(res.keys, "ending", live_state.ms(row.expires_at)), "1", nx=True,
                                   ex=int(WARN_BEFORE.total_seconds()) + 60):
                await st.log().publish(lk.room, "session_ending", {"expires_at": row.expires_at.isoformat(),
                                                                   "seconds_left": sessions.seconds_left(row)})
    return done


def _keys(res: Resources, row: session_queries.SessionRow) -> live_state.LiveKeys:
    return live_state.LiveKeys(res.keys, live_state.room_of(row.zone_id, row.org_id, row.id))


class Upkeep:
    """A runtime worker: the expiry sweep every `interval` seconds, retention hourly, partitions
    every few hours. Stopping it (the runtime's first step of a drain) also closes the live hub,
    so clients get 1001 and resume on another replica while this one drains."""

    def __init__(self, res: Resources, st: ClassroomState, interval: float = 5.0) -> None:
        self.res, self.st, self.interval = res, st, interval
        self._stop = asyncio.Event()
        self._closing: set[asyncio.Task[Any]] = set()

    async def run(self) -> None:
        from services.classroom.retention.service import run_retention

        # Retention first runs a minute after start (a replica restarted more often than hourly must
        # still run it; the advisory lock keeps replicas from running it together).
        last_partitions = time.monotonic()
        last_retention = last_partitions - self.st.settings.retention_interval_seconds + 60
        while not self._stop.is_set():
            try:
                await expire_sessions(self.res, self.st)
                if time.monotonic() - last_retention > self.st.settings.retention_interval_seconds:
                    await run_retention(self.res, self.st.settings)
                    last_retention = time.monotonic()
                if time.monotonic() - last_partitions > PARTITION_EVERY_S:
                    await ensure_partitions(self.res)
                    last_partitions = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - keep sweeping
                log.warning("upkeep pass failed", error=str(exc)[:300])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self.st.hub is not None:
            task = asyncio.get_running_loop().create_task(self.st.hub.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
