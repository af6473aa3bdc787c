"""Arena rounds at load (issue #15): 200 concurrent 1v1 matches (400 player WebSockets) through the
local edge (Traefik, `gateway/traefik.py`), one arena process on real PostgreSQL (pgvector), Redis
and NATS. Each player answers every round at its own random instant; measured per answer, on one
clock in this process:

- answer sent → `answer_ack` back at the sender,
- answer sent → `opponent_answered` at the other player (the fan-out to the other socket),
- the round's second answer sent → `round_result` at the later of the two players (the round
  closed, scored and pushed to both).

It runs twice on the same service: casual matches (the rounds alone), then ranked ones (as each
match ends, the rating consumer — Glicko-2, statistics, leaderboards, leagues, fair play — runs in
the same process and competes with the later rounds).

The matches are created as matchmaking creates them (`matches.service.create_match`), from this
process: it is a second arena replica for that step (its round-1 timers announce the first
rounds); every later step (answers, round closes, the next rounds, the results) runs in the
service process. BENCH_ARENA_ROUNDS_SMOKE=1 (or SMOKE=1): 10 matches of 3 rounds; BENCH_ARENA_ROUNDS_MATCHES=N: N matches.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import time
import uuid
from dataclasses import dataclass, field

from bench import common
from bench.common import (
    JwksServer,
    create_database,
    drop_database,
    free_port,
    local_edge,
    purge_nats,
    purge_redis,
    start_service,
    stop,
)

SMOKE = bool(os.environ.get("BENCH_ARENA_ROUNDS_SMOKE") or os.environ.get("SMOKE"))
# BENCH_ARENA_ROUNDS_MATCHES: another number of concurrent matches (to find the knee).
MATCHES = int(os.environ.get("BENCH_ARENA_ROUNDS_MATCHES") or (10 if SMOKE else 200))
ROUNDS = 3 if SMOKE else 7
QUESTIONS = 60
ANSWER_WINDOW_S = (0.3, 2.5)  # each player answers at a random instant this long after round_start
GAP_S = 1.0
HOST = "api.univprepai.com"
ZONE_ID = 1
SECRET = "bench-arena-rounds-secret-0123456789abcdef"
TIMEOUT_S = 600
# casual: the rounds alone; ranked: the same plus, as matches end, the rating consumer (Glicko-2,
# statistics, leaderboards, leagues, fair play) in the same process.
MODES = ("casual", "ranked")
SETTLE_S = 15.0
NL = "\n"


@dataclass
class Run:
    mode: str
    clock: Clock
    seconds: float
    service_cpu: float
    load_before: float
    load_after: float
    loadgen_cpu: float
    machine_busy: float  # share of all cores busy during the run (/proc/stat), every process included


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered))) - 1))]


@dataclass
class Clock:
    """Send instants per (match, round, seat) and the latencies measured against them (ms)."""

    sent: dict[tuple[str, int, int], float] = field(default_factory=dict)
    ack: list[float] = field(default_factory=list)
    opponent: list[float] = field(default_factory=list)
    result: list[float] = field(default_factory=list)
    by_round: dict[int, list[float]] = field(default_factory=dict)  # answer -> opponent_answered, per round
    errors: dict[str, int] = field(default_factory=dict)
    finished: int = 0
    lag: list[float] = field(default_factory=list)


async def _player(port: int, token: str, seat: int, answers: dict[str, str], clock: Clock, rng: random.Random,
                  started: asyncio.Event, ready: list[int]) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"ws://{HOST}:{port}/api/v1/arena/ws", host="127.0.0.1", port=port, open_timeout=30,
                       max_queue=None) as ws:
        await ws.send(json.dumps({"type": "hello", "data": {"token": token, "last_seq": None}}))
        json.loads(await ws.recv())  # snapshot
        ready.append(1)
        await started.wait()
        pending: set[asyncio.Task[None]] = set()
        result_seen: set[tuple[str, int]] = set()
        counts = {"sent": 0, "acked": 0, "over": 0}

        async def answer(match_id: str, round_no: int, qid: str) -> None:
            await asyncio.sleep(rng.uniform(*ANSWER_WINDOW_S))
            given = answers[qid] if rng.random() < 0.7 else "wrong"
            clock.sent[(match_id, round_no, seat)] = time.perf_counter()
            counts["sent"] += 1
            await ws.send(json.dumps({"type": "answer", "data": {"match_id": match_id, "round": round_no,
                                                                 "answer": given}}))

        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            kind, data = frame["type"], frame.get("data") or {}
            if kind == "round_start":
                task = asyncio.create_task(answer(data["match_id"], data["round"], data["question"]["id"]))
                pending.add(task)
                task.add_done_callback(pending.discard)
            elif kind == "answer_ack":
                clock.ack.append((now - clock.sent[(data["match_id"], data["round"], seat)]) * 1000)
                counts["acked"] += 1
            elif kind == "opponent_answered":
                took = (now - clock.sent[(data["match_id"], data["round"], data["seat"])]) * 1000
                clock.opponent.append(took)
                clock.by_round.setdefault(data["round"], []).append(took)
            elif kind == "round_result":
                key = (data["match_id"], data["round"])
                sends = [clock.sent.get((*key, s)) for s in (0, 1)]
                if None not in sends and key not in result_seen:
                    result_seen.add(key)
                    clock.result.append((now - max(s for s in sends if s is not None)) * 1000)
            elif kind == "error":
                clock.errors[data["code"]] = clock.errors.get(data["code"], 0) + 1
                counts["acked"] += 1
            elif kind == "match_result":
                clock.finished += 1
                counts["over"] = 1
            if counts["over"] and counts["acked"] >= counts["sent"]:  # the last ack can follow the result
                return


async def _loop_lag(clock: Clock, stop_at: asyncio.Event) -> None:
    """How late this process's event loop runs (the load generator's own queueing)."""
    while not stop_at.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.05)
        clock.lag.append((time.perf_counter() - t - 0.05) * 1000)


async def _drive(edge_port: int, db_url: str, prefix: str, tokens: list[tuple[uuid.UUID, uuid.UUID, str]],
                 answers: dict[str, str], mode: str) -> Clock:
    from megacity.db import make_engine, make_sessionmaker
    from megacity.redis_client import make_redis
    from megacity.redis_keys import RedisKeys
    from megacity.runtime import Resources
    from services.arena.live import service as live
    from services.arena.matches import service as matches
    from services.arena.service_state import ArenaState
    from services.arena.settings import Settings

    settings = Settings(environment="test", round_count=ROUNDS, round_gap_seconds=GAP_S, secret_key=SECRET)
    res = Resources(settings=settings, keys=RedisKeys(prefix))
    res.engine = make_engine(db_url, pool_size=5)
    res.sessions = make_sessionmaker(res.engine)
    res.redis = make_redis(common.REDIS_URL)
    state = ArenaState(settings=settings)
    await live.start(res, state)
    clock, started, done = Clock(), asyncio.Event(), asyncio.Event()
    ready: list[int] = []
    rng = random.Random(15)
    try:
        players = [asyncio.create_task(_player(edge_port, token, i % 2, answers, clock, random.Random(rng.random()),
                                               started, ready)) for i, (_, _, token) in enumerate(tokens)]
        while len(ready) < len(tokens):
            await asyncio.sleep(0.05)
            if any(p.done() for p in players):
                await next(p for p in players if p.done())  # re-raise a client that failed to connect
        lag = asyncio.create_task(_loop_lag(clock, done))
        started.set()
        for i in range(0, len(tokens), 2):
            (ua, oa, _), (ub, ob, _) = tokens[i], tokens[i + 1]
            await matches.create_match(res, ZONE_ID, mode, "", [matches.Seat(ua, oa), matches.Seat(ub, ob)])
        await asyncio.wait_for(asyncio.gather(*players), TIMEOUT_S - 60)
        done.set()
        await lag
    finally:
        await live.stop(res, state)
        await res.close()
    return clock


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (/proc/<pid>/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores so far (/proc/stat)."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _seed(owner_url: str) -> dict[str, str]:
    import psycopg

    answers = {}
    with psycopg.connect(common.plain(owner_url), autocommit=True) as conn:
        for i in range(QUESTIONS):
            row = conn.execute("INSERT INTO arena.questions (zone_id, type, content, answer) VALUES (%s, 'short', %s, %s)"
                               " RETURNING id", (ZONE_ID, f"{i} × 3 = ?", str(3 * i))).fetchone()
            assert row is not None
            answers[str(row[0])] = str(3 * i)
    return answers


def run() -> str:
    from megacity.auth.tokens import SigningKey, issue_access_token
    from megacity.db import bootstrap
    from megacity.db.engine import with_database
    from megacity.db.migrations import upgrade

    prefix = f"benchar{uuid.uuid4().hex[:8]}"
    key = SigningKey.generate()
    jwks = JwksServer(key)
    procs: list[subprocess.Popen[bytes]] = []
    dbname = create_database(common.PG_URL, "mc_bench_arena_")
    try:
        bootstrap.bootstrap(with_database(common.PG_URL, dbname), ["arena"])
        owner = with_database(common.PG_URL, dbname, bootstrap.owner_role("arena"))
        upgrade("arena", owner)
        answers = _seed(with_database(common.PG_URL, dbname))
        app_url = with_database(common.PG_URL, dbname, bootstrap.app_role("arena"))
        port = free_port()
        procs.append(start_service("arena", port, {
            "GRPC_PORT": str(free_port()), "DATABASE_URL": app_url, "REDIS_URL": common.REDIS_URL,
            "REDIS_KEY_PREFIX": prefix, "NATS_URL": common.NATS_URL, "EVENTS_NAMESPACE": prefix,
            "JWKS_URL": jwks.url, "SECRET_KEY": SECRET, "ROUND_COUNT": str(ROUNDS), "ROUND_GAP_SECONDS": str(GAP_S)}))
        orgs = [uuid.uuid4() for _ in range(10)]
        runs: list[Run] = []
        with local_edge({"arena": f"127.0.0.1:{port}"}) as edge:
            for mode in MODES:
                tokens = []
                for i in range(2 * MATCHES):
                    user, org = uuid.uuid4(), orgs[i % len(orgs)]
                    tokens.append((user, org, issue_access_token(key, user_id=user, zone_id=ZONE_ID, org_id=org,
                                                                 role="student", ttl=3600)[0]))
                time.sleep(SETTLE_S)  # the previous run's rating consumer and result pushes are done
                load_before, t0, cpu0 = os.getloadavg()[0], time.perf_counter(), _cpu_seconds(procs[0].pid)
                own0, (busy0, total0) = time.process_time(), _cpu_ticks()
                clock = asyncio.run(_drive(int(edge.url.rsplit(":", 1)[1]), app_url, prefix, tokens, answers, mode))
                busy1, total1 = _cpu_ticks()
                runs.append(Run(mode, clock, time.perf_counter() - t0, _cpu_seconds(procs[0].pid) - cpu0, load_before,
                                os.getloadavg()[0], time.process_time() - own0,
                                (busy1 - busy0) / max(1, total1 - total0)))
    finally:
        stop(*procs)
        jwks.close()
        purge_redis(prefix, common.REDIS_URL)
        purge_nats(prefix, common.NATS_URL)
        drop_database(common.PG_URL, dbname)
    return _report(runs)


def _row(name: str, values: list[float]) -> str:
    return (f"| {name} | {len(values):,} | {_pct(values, 50):.1f} | **{_pct(values, 99):.1f}** | "
            f"{max(values, default=float('nan')):.1f} |")


def _section(r: Run) -> str:
    c = r.clock
    errs = ", ".join(f"{k} × {v}" for k, v in sorted(c.errors.items())) or "none"
    per_round = "; ".join(f"{n}: {_pct(v, 50):.0f} / {_pct(v, 99):.0f}" for n, v in sorted(c.by_round.items()))
    ok = max(_pct(c.ack, 99), _pct(c.opponent, 99), _pct(c.result, 99)) <= 50
    return f"""### {r.mode} matches

{c.finished}/{2 * MATCHES} players got their `match_result`; {r.seconds:.0f} s; errors: {errs}; load average
{r.load_before:.1f} before, {r.load_after:.1f} after. The arena process used {r.service_cpu:.1f} CPU seconds
({r.service_cpu / max(1, len(c.ack)) * 1000:.1f} ms per answer, everything included: connects, snapshots, match
creation's frames, rounds, results{", the rating consumer" if r.mode == "ranked" else ""}); the load generator
{r.loadgen_cpu:.1f} CPU seconds; all {os.cpu_count()} cores together were {r.machine_busy:.0%} busy during the run.

| measure | samples | p50 ms | p99 ms | max ms |
|---|---|---|---|---|
{_row("answer → `answer_ack` at the sender", c.ack)}
{_row("answer → `opponent_answered` at the other player", c.opponent)}
{_row("second answer → `round_result` at both players (the later)", c.result)}
{_row("load generator's own event-loop delay", c.lag)}

Answer → `opponent_answered` by round, p50 / p99 ms: {per_round}. Goal p99 ≤ 50 ms: {"meets" if ok else "MISSES"}.
"""


def _report(runs: list[Run]) -> str:
    return f"""## Arena rounds at load (issue #15)

{MATCHES} concurrent 1v1 matches ({2 * MATCHES} player WebSockets) through the local edge (Traefik, rate
limits off) to one arena process (`python -m services.arena`, log level WARNING) on real PostgreSQL
(pgserver with pgvector), Redis and NATS; {ROUNDS} rounds per match, {GAP_S:g} s between rounds, each
player answering each round at a random instant {ANSWER_WINDOW_S[0]:g}–{ANSWER_WINDOW_S[1]:g} s after
`round_start` (70% right). Latencies on one clock in the load-generating process (which also created the
matches, as a second replica would); {os.cpu_count()} cores shared by everything. Run first with casual
matches (the rounds alone), then ranked ones (as matches end, the rating consumer runs in the same process).

{NL.join(_section(r) for r in runs)}"""


if __name__ == "__main__":
    print(run())
