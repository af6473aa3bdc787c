"""Arena matchmaking (issue #15): 2,000 queued players with random ratings (N(1500, 350)), blossom
matching (services/arena/matchmaking/pairing.pair) side by side with greedy cheapest-pair-first
(pairing.greedy_pair) on the same players in the same run, with the service's pairing rules
(ArenaSettings: window 300 widening 25 a 2 s round up to +400, a round every 2 s or at 20 waiting,
a ghost match at 45 s).

1. Simulated time, three arrival patterns of the same 2,000 players: all at once (a zone-wide
   event), a rush (all within 60 s) and a trickle (over 2 hours, where the window matters). Per
   side: pairs formed, pairs per simulated second, median and p90 wait (a ghost's wait counts at
   45 s), median rating gap, players who ended in a ghost match, and the CPU seconds the pairing
   function spent (pairs per CPU second).
2. The burst's one round, chunked blossom (the service's) against one blossom over all 2,000
   (no chunks): the quality given up for speed.
3. A real round on Redis: 2,000 entries in one pool (the service's Lua join), the round's read of
   the pool, the pairing, and each pair taken atomically (pools.take) — the worker's round without
   creating the matches (match creation is the match engine's, measured by bench/arena_rounds.py).

BENCH_ARENA_MATCHMAKING_SMOKE=1 (or SMOKE=1): 200 players, no whole-pool blossom.
"""
from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import REDIS_URL, purge_redis
from megacity.redis_client import make_redis
from megacity.redis_keys import RedisKeys
from megacity.runtime import Resources
from services.arena.matchmaking import pairing, pools
from services.arena.matchmaking.pools import Entry, Pool
from services.arena.settings import ArenaSettings, Settings

SMOKE = bool(os.environ.get("BENCH_ARENA_MATCHMAKING_SMOKE") or os.environ.get("SMOKE"))
PLAYERS = 200 if SMOKE else 2000
SEED = 15
Matcher = Callable[..., list[pairing.Pair]]


@dataclass
class Side:
    name: str
    pairs: int = 0
    ghosts: int = 0
    waits: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    span: float = 0.0


def players(rng: random.Random, spread_seconds: float) -> list[pairing.Waiting]:
    arrivals = sorted(rng.uniform(0, spread_seconds) for _ in range(PLAYERS))
    return [pairing.Waiting(f"p{i}", rng.gauss(1500, 350), t) for i, t in enumerate(arrivals)]


def simulate(name: str, matcher: Matcher, arrivals: list[pairing.Waiting], rules: ArenaSettings) -> Side:
    """Rounds every interval, or at an arrival that brings the pool to `pair_min_waiting`."""
    side, i, last_round = Side(name), 0, -rules.pair_interval_seconds
    queue: list[pairing.Waiting] = []
    while i < len(arrivals) or queue:
        next_round = last_round + rules.pair_interval_seconds
        if i < len(arrivals) and arrivals[i].joined_at < next_round:
            now = arrivals[i].joined_at
            while i < len(arrivals) and arrivals[i].joined_at <= now:
                queue.append(arrivals[i])
                i += 1
            if len(queue) < rules.pair_min_waiting:
                continue
        else:
            now = next_round
        last_round = now
        started = time.process_time()
        pairs = matcher(queue, now, rules)
        side.cpu_seconds += time.process_time() - started
        paired = {u for p in pairs for u in p.users()}
        side.pairs += len(pairs)
        side.gaps += [p.gap for p in pairs]
        side.waits += [now - p.joined_at for pr in pairs for p in (pr.a, pr.b)]
        queue = [p for p in queue if p.user_id not in paired]
        ghosts = [p for p in queue if now - p.joined_at >= rules.ghost_after_seconds]
        side.ghosts += len(ghosts)
        side.waits += [rules.ghost_after_seconds] * len(ghosts)
        queue = [p for p in queue if now - p.joined_at < rules.ghost_after_seconds]
        side.span = now
    return side


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def _row(scenario: str, s: Side) -> str:
    per_sim = f"{s.pairs / s.span:.2f}" if s.span > 0 else "all at t=0"
    per_cpu = s.pairs / s.cpu_seconds if s.cpu_seconds > 0 else float("inf")
    return (f"| {scenario} | {s.name} | {s.pairs} | {per_sim} | {per_cpu:,.0f} | {statistics.median(s.waits):.1f} |"
            f" {_p(s.waits, 90):.1f} | {statistics.fmean(s.gaps):.1f} | {statistics.median(s.gaps):.1f} |"
            f" {_p(s.gaps, 90):.0f} | {s.ghosts} |")


def scenarios(rules: ArenaSettings) -> list[str]:
    rows = []
    for scenario, spread in (("burst (all at t=0)", 0.0), ("rush (60 s)", 60.0), ("trickle (2 h)", 7200.0)):
        arrivals = players(random.Random(SEED), spread)
        for name, matcher in (("blossom", pairing.pair), ("greedy", pairing.greedy_pair)):
            rows.append(_row(scenario, simulate(name, matcher, arrivals, rules)))
    return rows


def whole_pool(rules: ArenaSettings) -> list[str]:
    """The burst's first round: chunked blossom, one blossom over everyone, greedy."""
    pool = players(random.Random(SEED), 0.0)
    variants: list[tuple[str, Callable[[], list[pairing.Pair]]]] = [
        (f"blossom, chunks of {pairing.CHUNK} (service)", lambda: pairing.pair(pool, 0.0, rules)),
        ("greedy", lambda: pairing.greedy_pair(pool, 0.0, rules))]
    if not SMOKE:
        variants.insert(1, ("blossom, one chunk", lambda: pairing.pair(pool, 0.0, rules, chunk=10**9)))
    rows = []
    for name, run_it in variants:
        started = time.perf_counter()
        pairs = run_it()
        took = time.perf_counter() - started
        rows.append(f"| {name} | {len(pairs)} | {sum(p.gap for p in pairs):,.0f} |"
                    f" {statistics.median(p.gap for p in pairs):.1f} | {took:.3f} |")
    return rows


async def redis_round(rules: ArenaSettings) -> str:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    res = Resources(settings=rules, redis=make_redis(REDIS_URL), keys=RedisKeys(prefix))
    pool, rng = Pool(1, "ranked", ""), random.Random(SEED)
    try:
        base = int(time.time() * 1000)
        started = time.perf_counter()
        for i in range(PLAYERS):
            await pools.add(res, Entry(uuid.uuid4(), None, pool, rng.gauss(1500, 350), base + i), 600)
        joined = time.perf_counter() - started
        started = time.perf_counter()
        entries = await pools.members(res, pool)
        read = time.perf_counter() - started
        by_id = {str(e.user_id): e for e in entries}
        waiting = [pairing.Waiting(str(e.user_id), e.rating, e.joined_ms / 1000) for e in entries]
        started = time.perf_counter()
        pairs = await asyncio.to_thread(pairing.pair, waiting, base / 1000, rules)
        paired = time.perf_counter() - started
        gate = asyncio.Semaphore(16)

        async def take(p: pairing.Pair) -> bool:
            async with gate:
                return await pools.take(res, pool, [by_id[p.a.user_id], by_id[p.b.user_id]])

        started = time.perf_counter()
        taken = sum(await asyncio.gather(*(take(p) for p in pairs)))
        took = time.perf_counter() - started
        total = read + paired + took
        return (f"Redis round, {PLAYERS} players in one pool: joins {joined:.2f} s ({PLAYERS / joined:,.0f}/s, one Lua "
                f"call each); the round: read {read * 1000:.0f} ms + pairing {paired * 1000:.0f} ms + {taken} pairs "
                f"taken atomically {took * 1000:.0f} ms = **{total * 1000:.0f} ms** ({taken / total:,.0f} pairs/s); "
                f"{await pools.size(res, pool)} left waiting.")
    finally:
        await res.redis.aclose()
        purge_redis(prefix)


def run() -> str:
    rules = Settings(environment="test")
    lines = [
        "## Arena matchmaking (blossom vs greedy)", "",
        f"{PLAYERS:,} players, ratings N(1500, 350), the service's rules (window {rules.pair_max_gap:.0f} + "
        f"{rules.pair_wait_bonus:.0f}/round up to +{rules.pair_wait_bonus_cap:.0f}, a round every "
        f"{rules.pair_interval_seconds:.0f} s or at {rules.pair_min_waiting} waiting, ghost at "
        f"{rules.ghost_after_seconds:.0f} s); simulated time, the same arrivals for both sides.", "",
        "| arrivals | matcher | pairs | pairs / sim s | pairs / CPU s | median wait s | p90 wait s | mean gap |"
        " median gap | p90 gap | ghosts |", "|---|---|---|---|---|---|---|---|---|---|---|",
        *scenarios(rules), "",
        "The burst's first round (everyone waiting at once):", "",
        "| matcher | pairs | total gap | median gap | wall s |", "|---|---|---|---|---|",
        *whole_pool(rules), "",
        asyncio.run(redis_round(rules)),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
