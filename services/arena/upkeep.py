"""Background upkeep in every arena process (round deadlines and forfeits are the match
sweeper's, pairing the matchmaking worker's):

- embeddings: questions stored while inference was down (`embedding_status = 'pending'`) get
  their MiniLM vectors, so similar-question search and duplicate checks cover them;
- leaderboards: ratings whose RD, grown by inactivity, passed 75 in the last days leave the
  rating boards (rebuilds leave them out already);
- leagues: every finished week that still has unsettled members is closed (promotion/demotion),
  oldest first; idempotent and advisory-locked per zone, so every replica may try (a no-op query
  once done).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import registry
from services.arena.leaderboards import service as leaderboards
from services.arena.leagues import service as leagues
from services.arena.questions import service as questions
from services.arena.settings import ArenaSettings

log = get_logger("arena.upkeep")
EMBED_BATCH = 64


class Upkeep:
    """A runtime worker: embedding backfill every `upkeep_interval_seconds`; lapsed ratings and
    finished league weeks looked for every `league_close_interval_seconds`. Each waits one interval before its first
    pass: neither is urgent to the second, and a replica that restarts often must not redo them
    on every start."""

    def __init__(self, res: Resources, settings: ArenaSettings) -> None:
        self.res, self.interval, self.league_every = res, settings.upkeep_interval_seconds, \
            settings.league_close_interval_seconds
        self._stop = asyncio.Event()

    async def run(self) -> None:
        last_league = time.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval)
            if self._stop.is_set():
                return
            try:
                await self.backfill()
                if time.monotonic() - last_league > self.league_every:
                    await self.periodic(dt.datetime.now(dt.UTC).date())
                    last_league = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - keep going; the next pass retries
                log.warning("upkeep pass failed", error=str(exc)[:300])

    async def backfill(self) -> int:
        done = 0
        for zone in registry().zones:
            done += await questions.backfill_embeddings(self.res, zone.id, EMBED_BATCH)
        return done

    async def periodic(self, today: dt.date) -> None:
        for zone in registry().zones:
            await leaderboards.drop_lapsed(self.res, zone.id)
            await leagues.close_finished_weeks(self.res, zone.id, today)

    def stop(self) -> None:
        self._stop.set()
