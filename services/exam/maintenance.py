"""Background upkeep in every exam process:

- partitions: `exam.ensure_month_partitions` keeps the current and next months' partitions of
  `attempts` and `responses` in place (at start-up, then every few hours; idempotent and safe
  across replicas — the function serialises on an advisory lock);
- expiry: attempts whose time limit has passed are scored as `expired` even if the student
  never comes back (per zone, through the zone-admin RLS policy; at most a batch per pass).
"""
from __future__ import annotations

import asyncio
import contextlib
import time

from sqlalchemy import text

from megacity.db import TenantContext, system_transaction, tenant_transaction
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import registry
from services.exam.attempt_store import GRACE_SECONDS
from services.exam.scoring import finalize

log = get_logger("exam.maintenance")
MONTHS_AHEAD = 3
PARTITION_EVERY_S = 6 * 3600


async def ensure_partitions(res: Resources) -> None:
    """On start: never fails start-up (a database that is down is reported by /readyz users)."""
    try:
        async with system_transaction(res.db()) as s:
            created = (await s.execute(text(
                "SELECT exam.ensure_month_partitions(date_trunc('month', now())::date, :n)"),
                {"n": MONTHS_AHEAD})).scalar_one()
        if created:
            log.info("partitions created", count=created)
    except Exception as exc:  # noqa: BLE001 - upkeep must not stop the service
        log.warning("could not ensure partitions", error=str(exc)[:300])


async def expire_overdue(res: Resources, batch: int = 200) -> int:
    """Score every attempt past its deadline (+ grace) as expired; returns how many."""
    done = 0
    for zone in registry().zones:
        async with tenant_transaction(res.db(), TenantContext(zone_id=zone.id, role="zone_admin")) as s:
            rows = (await s.execute(text(
                "SELECT org_id, attempt_id FROM exam.active_attempts WHERE zone_id = :z"
                " AND deadline_at < now() - make_interval(secs => :grace) ORDER BY deadline_at LIMIT :n"),
                {"z": zone.id, "grace": GRACE_SECONDS, "n": batch})).all()
        for r in rows:
            ctx = TenantContext(zone_id=zone.id, org_id=r.org_id, role="zone_admin")
            try:
                await finalize(res, ctx, r.attempt_id, reason="expired")
                done += 1
            except Exception as exc:  # noqa: BLE001 - one bad attempt must not stop the sweep
                log.warning("could not expire attempt", attempt_id=str(r.attempt_id), error=str(exc)[:300])
    return done


class Maintenance:
    """A runtime worker: the expiry sweep every `interval` seconds, partitions every few hours."""

    def __init__(self, res: Resources, interval: float = 15.0) -> None:
        self.res = res
        self.interval = interval
        self._stop = asyncio.Event()

    async def run(self) -> None:
        last_partitions = time.monotonic()
        while not self._stop.is_set():
            try:
                n = await expire_overdue(self.res)
                if n:
                    log.info("expired overdue attempts", count=n)
                if time.monotonic() - last_partitions > PARTITION_EVERY_S:
                    await ensure_partitions(self.res)
                    last_partitions = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - keep sweeping
                log.warning("maintenance pass failed", error=str(exc)[:300])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval)

    def stop(self) -> None:
        self._stop.set()
