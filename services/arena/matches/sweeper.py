"""The sweeper: a Worker on every replica that does the round steps a dead (or slow) replica
left undone — close rounds past their deadline, announce rounds that are due, forfeit players
disconnected for longer than `forfeit_grace_seconds`. Each pass locks the matches it works on
with `FOR UPDATE SKIP LOCKED`, so replicas never do one step twice or wait for each other; the
local timers normally get there first (the sweeper gives them `sweep_interval_seconds` of slack).
"""
from __future__ import annotations

import asyncio
import datetime as dt

from megacity.db import tenant_transaction
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import registry
from services.arena.matches import queries as q
from services.arena.matches import rounds
from services.arena.matches.rounds import Effects

log = get_logger("arena.matches")
BATCH = 50
PENDING_AFTER = dt.timedelta(seconds=30)


async def sweep_zone(res: Resources, zone_id: int) -> int:
    """One pass over a zone's overdue matches; returns how many were handled."""
    st = rounds.settings_of(res)
    now = rounds.now()
    slack = dt.timedelta(seconds=st.sweep_interval_seconds)
    fx = Effects(zone_id)
    async with tenant_transaction(res.db(), rounds.engine_ctx(zone_id)) as s:
        due = await q.overdue(s, zone_id, now, now - dt.timedelta(milliseconds=st.answer_grace_ms) - slack,
                              now - slack, now - dt.timedelta(seconds=st.forfeit_grace_seconds), BATCH)
        for match_id, step in due:
            m = await q.lock_match(s, match_id)  # already locked by this transaction: the fresh row
            if m is None or m.status != "active":
                continue
            if step == "forfeit":
                await rounds.forfeit_disconnected_locked(res, s, fx, st, m)
            elif step == "announce":
                await rounds.announce_locked(s, fx, st, m)
            else:
                await rounds.close_overdue_locked(s, fx, st, m)
        # free-text answers nobody graded (the grader was down, the replica died): claimed per answer
        fx.grade.extend(await q.pending_answers(s, zone_id, now - PENDING_AFTER, BATCH))
    await rounds.deliver(res, fx)
    return len(due)


class Sweeper:
    """Worker (megacity.runtime): `run()` until `stop()`."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        interval = rounds.settings_of(self.res).sweep_interval_seconds
        while not self._stopping.is_set():
            for zone in registry().zones:
                try:
                    while await sweep_zone(self.res, zone.id) >= BATCH:
                        pass
                except Exception:  # a database blip: the next pass retries
                    log.exception("arena sweep failed", extra={"zone_id": zone.id})
            try:
                await asyncio.wait_for(self._stopping.wait(), interval)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stopping.set()
