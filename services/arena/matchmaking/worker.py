"""The pairing worker (Lichess's PoolActor): every replica runs one; per pool a round every
`pair_interval_seconds`, or at once when `pair_min_waiting` wait and someone joined since the last
round. One replica pairs a pool at a time (a Redis lock per pool); even without it a player is
matched once, because a pair is taken from the queue atomically (pools.take) before its match is
created.

A round: players waiting longer than `queue_timeout_seconds` leave (`queue_status` idle/timeout);
the rest are paired (matchmaking/pairing.py, in a thread: blossom is CPU work); each pair is taken
and its match created (`matches.service.create_match`, which sends `match_found`); players
waiting `ghost_after_seconds` and still unpaired get a ghost match; when the pool changed, the
players still waiting get a fresh `queue_status` (wait, window, pool size).

Daily limit (ranked pools): two players who played `same_opponent_rated_per_day` rated matches
against each other in the last 24 hours are never paired together again that day — the pair is
skipped *before* matching (a blocked edge), so each is paired with someone else in the same round
instead of being downgraded to an unrated game neither asked for. Casual pools are unrated: no limit.

Failures: a player found in an active match leaves the queue (it is playing); a pool whose topic
has too few questions sends its pair back idle (`no_questions`) rather than retrying forever;
anything else (database down) puts the pair back with its original join time.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import registry
from services.arena.matches import service as matches
from services.arena.matchmaking import pairing, pools, queries
from services.arena.matchmaking.pools import Entry, Pool
from services.arena.matchmaking.schemas import QueueOut
from services.arena.matchmaking.service import now_ms, publish, queued_out, waiting_of
from services.arena.service_state import ArenaState
from services.arena.settings import ArenaSettings

log = get_logger("arena.matchmaking.worker")
LOCK_MS = 60_000  # a round holds its pool at most this long (a crashed replica's lock expires)
CONCURRENCY = 16  # matches created / frames pushed at once in a round


@dataclass
class RoundReport:
    """What one round did (tests, the benchmark, logs)."""

    ran: bool = False
    waiting: int = 0
    pairs: list[pairing.Pair] = field(default_factory=list)
    matches: int = 0
    ghosts: int = 0
    timeouts: int = 0
    pairing_seconds: float = 0.0


async def _bounded(items: list[Any], step: Callable[[Any], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Any) -> Any:
        async with gate:
            return await step(item)

    return list(await asyncio.gather(*(one(i) for i in items)))


def _seat(e: Entry) -> matches.Seat:
    return matches.Seat(user_id=e.user_id, org_id=e.org_id, rating=e.rating, client_address=e.address)


async def _blocked(res: Resources, settings: ArenaSettings, pool: Pool, entries: list[Entry]) -> set[frozenset[str]]:
    if pool.mode != "ranked" or len(entries) < 2:
        return set()
    async with tenant_transaction(res.db(), TenantContext(zone_id=pool.zone_id, role="zone_admin")) as s:
        return await queries.pairs_at_daily_limit(s, pool.zone_id, [e.user_id for e in entries],
                                                  settings.same_opponent_rated_per_day)


async def _requeue(res: Resources, settings: ArenaSettings, entries: list[Entry]) -> None:
    for e in entries:
        await pools.add(res, e, int(settings.queue_timeout_seconds) + 60)


def _failed_user(exc: AppError) -> uuid.UUID | None:
    user = exc.extra.get("user_id")
    return uuid.UUID(str(user)) if exc.code == "arena.in_match" and user else None


async def _start_pair(res: Resources, settings: ArenaSettings, pool: Pool, a: Entry, b: Entry) -> bool:
    if not await pools.take(res, pool, [a, b]):
        return False  # one of them left (or was taken) since the round read the pool
    try:
        m = await matches.create_match(res, pool.zone_id, pool.mode, pool.topic, [_seat(a), _seat(b)])
    except AppError as exc:
        playing = _failed_user(exc)
        if exc.code == "arena.not_enough_questions":
            for e in (a, b):
                await publish(res, pool.zone_id, e.user_id, QueueOut(status="idle", reason="no_questions"))
        else:
            await _requeue(res, settings, [e for e in (a, b) if e.user_id != playing])
        log.info("pair not started", code=exc.code, pool=pool.member)
        return False
    except Exception as exc:  # noqa: BLE001 - a transient failure must not drop the players
        await _requeue(res, settings, [a, b])
        log.warning("pair not started", error=str(exc)[:300], pool=pool.member)
        return False
    for e in (a, b):
        await publish(res, pool.zone_id, e.user_id, QueueOut(status="matched", match_id=m.id))
    return True


async def _start_ghost(res: Resources, settings: ArenaSettings, pool: Pool, e: Entry) -> bool:
    if not await pools.take(res, pool, [e]):
        return False
    try:  # a ghost game is never rated: casual whatever the pool
        m = await matches.create_ghost_match(res, pool.zone_id, "casual", pool.topic, _seat(e))
    except AppError as exc:
        if _failed_user(exc) is None:  # no questions: wait on for a human, no more ghosts
            await _requeue(res, settings, [dataclasses.replace(e, ghost=False)])
        return False
    except Exception as exc:  # noqa: BLE001
        await _requeue(res, settings, [e])
        log.warning("ghost not started", error=str(exc)[:300], pool=pool.member)
        return False
    if m is None:  # no past match of the topic to replay yet: wait on for a human
        await _requeue(res, settings, [dataclasses.replace(e, ghost=False)])
        return False
    await publish(res, pool.zone_id, e.user_id, QueueOut(status="matched", match_id=m.id))
    return True


def due(meta: dict[str, int], size: int, at_ms: int, settings: ArenaSettings) -> bool:
    """A round is due every interval, or at once when enough wait and someone joined since the last."""
    if size == 0:
        return False
    if at_ms - meta.get("round_ms", 0) >= settings.pair_interval_seconds * 1000:
        return True
    return size >= settings.pair_min_waiting and meta.get("v", 0) != meta.get("round_v", 0)


async def run_round(res: Resources, settings: ArenaSettings, pool: Pool, *, force: bool = False) -> RoundReport:
    """One pairing round of `pool` if it is due (or `force`) and no other replica is pairing it.
    Due is read before the lock (most checks find nothing to do) and again under it."""
    if not force and not due(await pools.meta(res, pool), await pools.size(res, pool), now_ms(), settings):
        return RoundReport()
    token = uuid.uuid4().hex
    if not await pools.lock(res, pool, token, LOCK_MS):
        return RoundReport()
    try:
        at = now_ms()
        meta = await pools.meta(res, pool)
        if not force and not due(meta, await pools.size(res, pool), at, settings):
            return RoundReport()
        await pools.set_meta(res, pool, round_ms=at, round_v=meta.get("v", 0))
        return await _round(res, settings, pool, at)
    finally:
        await pools.unlock(res, pool, token)


async def _round(res: Resources, settings: ArenaSettings, pool: Pool, at: int) -> RoundReport:
    entries = await pools.members(res, pool)
    report = RoundReport(ran=True, waiting=len(entries))
    late = {e.user_id: e for e in entries if at - e.joined_ms >= settings.queue_timeout_seconds * 1000}
    for e in late.values():
        if await pools.take(res, pool, [e]):
            report.timeouts += 1
            await publish(res, pool.zone_id, e.user_id, QueueOut(status="idle", reason="timeout"))
    entries = [e for e in entries if e.user_id not in late]
    blocked = await _blocked(res, settings, pool, entries)
    by_id = {str(e.user_id): e for e in entries}
    started = time.perf_counter()
    report.pairs = await asyncio.to_thread(pairing.pair, [waiting_of(e) for e in entries], at / 1000, settings,
                                           blocked=blocked)
    report.pairing_seconds = time.perf_counter() - started
    done = await _bounded(report.pairs, lambda p: _start_pair(res, settings, pool, by_id[p.a.user_id],
                                                                by_id[p.b.user_id]))
    report.matches = sum(done)
    paired = {u for p in report.pairs for u in p.users()}
    ghostly = [e for e in entries if str(e.user_id) not in paired and e.ghost
               and at - e.joined_ms >= settings.ghost_after_seconds * 1000]
    report.ghosts = sum(await _bounded(ghostly, lambda e: _start_ghost(res, settings, pool, e)))
    await _announce(res, settings, pool)
    return report


async def _announce(res: Resources, settings: ArenaSettings, pool: Pool) -> None:
    """`queue_status` to everyone still waiting, when the pool changed since the last announcement."""
    meta = await pools.meta(res, pool)
    if meta.get("v", 0) == meta.get("pushed_v", 0):
        return
    await pools.set_meta(res, pool, pushed_v=meta.get("v", 0))
    entries, at = await pools.members(res, pool), now_ms()
    await _bounded(entries, lambda e: publish(res, pool.zone_id, e.user_id,
                                              queued_out(e, at, settings, len(entries))))


class MatchmakingWorker:
    """A runtime worker: every `tick` seconds, starts the rounds due of the zones' pools — each pool
    in its own task, so a large round (thousands waiting) never holds up another pool. Stopping
    lets running rounds finish: a pair taken from the queue always gets its match (or goes back)."""

    def __init__(self, res: Resources, state: ArenaState, tick: float = 0.25) -> None:
        self.res, self.settings, self.tick = res, state.settings, tick
        self._stop = asyncio.Event()
        self._running: dict[Pool, asyncio.Task[RoundReport]] = {}

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.pass_once()
            except Exception as exc:  # noqa: BLE001 - keep pairing
                log.warning("matchmaking pass failed", error=str(exc)[:300])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.tick)
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def pass_once(self) -> None:
        for zone in registry().zones:
            for pool in await pools.pools(self.res, zone.id):
                if pool in self._running:
                    continue
                if await pools.size(self.res, pool) == 0:
                    await pools.forget_if_empty(self.res, pool)
                    continue
                task = asyncio.create_task(self._round(pool), name=f"arena-pairing-{pool.zone_id}-{pool.member}")
                self._running[pool] = task
                task.add_done_callback(functools.partial(self._done, pool))

    def _done(self, pool: Pool, _: asyncio.Task[RoundReport]) -> None:
        self._running.pop(pool, None)

    async def _round(self, pool: Pool) -> RoundReport:
        try:
            report = await run_round(self.res, self.settings, pool)
        except Exception as exc:  # noqa: BLE001 - the next pass tries again
            log.warning("pairing round failed", pool=pool.member, zone_id=pool.zone_id, error=str(exc)[:300])
            return RoundReport()
        if report.pairs or report.ghosts or report.timeouts:
            log.info("pairing round", pool=pool.member, zone_id=pool.zone_id, waiting=report.waiting,
                     pairs=len(report.pairs), matches=report.matches, ghosts=report.ghosts, timeouts=report.timeouts,
                     pairing_ms=round(report.pairing_seconds * 1000, 1))
        return report

    def stop(self) -> None:
        self._stop.set()
