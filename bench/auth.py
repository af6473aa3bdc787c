"""Token verification and authenticated requests (issue: tenant and auth services).

- In-process: `TokenVerifier.decode` (signature + claims, key already cached) and the full
  `verify` (decode + one Redis MGET of the jti/sid denylist) — latency percentiles of single
  calls, sequential, after a warm-up.
- Through the local edge (Traefik from `gateway/traefik.py`, rate limits off): the auth service's
  `GET /api/v1/users/me` with a real access token vs the same process's `/healthz` (the edge
  sends `/healthz` on an api. host to the zone's default service; here that upstream is auth
  too, so both runs hit the same uvicorn process). wrk, alternating rounds.

Needs PostgreSQL, Redis and NATS like the tests (MC_TEST_PG_URL / MC_TEST_REDIS_URL /
MC_TEST_NATS_URL, local defaults): a throwaway database is migrated for the run and dropped
after it; auth and tenant (for the login's membership lookup) run as subprocesses.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median

import httpx

from bench import wrk
from bench.common import (
    HOST,
    NATS_URL,
    PG_URL,
    REDIS_URL,
    create_database,
    drop_database,
    free_port,
    local_edge,
    purge_nats,
    purge_redis,
    start_service,
    stop,
)

PASSWORD = "Bench-Mark-2026!"
USERS = 1_000  # the many-token round: this many users, one access token each

# The other OS process of the revocation measure: for each key read from stdin it reads the
# system-wide monotonic clock, SETs the key in Redis (as auth does from its own process) and
# writes the clock reading back; the measuring process compares it with its own reading taken
# when its TrackedCache first refuses the token (CLOCK_MONOTONIC is one clock for all processes).
_REVOKER = """
import sys, time, redis
r = redis.Redis.from_url(sys.argv[1])
r.ping()
print("ready", flush=True)
for line in sys.stdin:
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    r.set(line.strip(), "1", ex=60)
    print(t0, flush=True)
"""


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- in-process ------------------------------------------------------------------------------

async def _verification(n_decode: int, n_verify: int, n_revocations: int) -> dict[str, list[float]]:
    import jwt

    from megacity.auth.tokens import SigningKey, issue_access_token
    from megacity.auth.verifier import REVOCATION_KEY_PARTS, JwksCache, TokenVerifier, revocation_keys
    from megacity.redis_cache import TrackedCache
    from megacity.redis_client import make_redis
    from megacity.redis_keys import RedisKeys, zone_prefixes

    key = SigningKey.generate()

    async def jwks() -> dict:
        return {"keys": [key.public_jwk()]}

    verifier = TokenVerifier(JwksCache(jwks))
    token, _ = issue_access_token(key, user_id=uuid.uuid4(), zone_id=1, org_id=uuid.uuid4(), role="teacher",
                                  sid=uuid.uuid4().hex)
    cached: jwt.PyJWK = await verifier.key_for(token)
    for _ in range(2000):
        verifier.decode(token, cached)
    decode = []
    clock = time.perf_counter_ns
    for _ in range(n_decode):
        start = clock()
        verifier.decode(token, cached)
        decode.append((clock() - start) / 1e6)
    redis = make_redis(REDIS_URL)
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    keys = RedisKeys(prefix)
    cache = TrackedCache(make_redis(REDIS_URL), zone_prefixes(keys, REVOCATION_KEY_PARTS), name=f"{prefix}-bench")
    tracking = asyncio.create_task(cache.run())
    try:
        if not await cache.wait_live(10):
            raise SystemExit("the tracked cache never went live")
        out = {"decode": decode}
        for name, reads in (("verify_redis", redis), ("verify_cache", cache)):
            for _ in range(300):
                await verifier.verify(token, reads, keys)
            samples = []
            for _ in range(n_verify):
                start = clock()
                await verifier.verify(token, reads, keys)
                samples.append((clock() - start) / 1e6)
            out[name] = samples
        # a revocation written by someone else (plain SET, as auth does from its own process):
        # how long until this process's cache refuses the token
        propagation = []
        for _ in range(n_revocations):
            jti = uuid.uuid4().hex
            denied = revocation_keys(keys, 1, jti, None)
            assert await cache.mget(denied) == [None]  # "not revoked" is now held in process
            start = clock()
            await redis.set(denied[0], "1", ex=60)
            while (await cache.mget(denied))[0] is None:  # noqa: ASYNC110 - polling what a request would see
                await asyncio.sleep(0)
            propagation.append((clock() - start) / 1e6)
        out["propagation"] = propagation
        out["propagation_process"] = await _cross_process_propagation(cache, keys, n_revocations)
        return out
    finally:
        cache.stop()
        tracking.cancel()
        await asyncio.gather(tracking, return_exceptions=True)
        await cache.redis.aclose()
        await redis.aclose()
        purge_redis(prefix)


async def _cross_process_propagation(cache, keys, n: int) -> list[float]:  # noqa: ANN001 - TrackedCache, RedisKeys
    """A second OS process writes each denial; ms until this process's cache refuses the token."""
    from megacity.auth.verifier import revocation_keys

    clock = time.CLOCK_MONOTONIC
    # blocking pipe I/O on purpose: a read happens only once the child has already answered
    proc = subprocess.Popen([sys.executable, "-c", _REVOKER, REDIS_URL],  # noqa: ASYNC220
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    try:
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("the revoking process did not start")
        out = []
        for _ in range(n + 20):  # the first 20 are a warm-up
            denied = revocation_keys(keys, 1, uuid.uuid4().hex, None)
            assert await cache.mget(denied) == [None]  # "not revoked" is now held in process
            proc.stdin.write(denied[0] + "\n")
            proc.stdin.flush()
            while (await cache.mget(denied))[0] is None:  # noqa: ASYNC110 - polling what a request would see
                await asyncio.sleep(0)
            seen = time.clock_gettime_ns(clock)
            out.append((seen - int(proc.stdout.readline())) / 1e6)
        return out[20:]
    finally:
        proc.stdin.close()
        proc.wait(10)


# --- services through the edge ----------------------------------------------------------------

class _Platform:
    """A migrated throwaway database plus tenant and auth subprocesses."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.namespace = f"bench{uuid.uuid4().hex[:8]}"
        self.procs: list[subprocess.Popen] = []
        self.auth_http = free_port()

    def __enter__(self) -> _Platform:
        from megacity.db.bootstrap import app_role
        from megacity.db.engine import with_database
        from megacity.db.migrations import migrate_all

        self.db = create_database(PG_URL, "mc_bench_auth_")
        try:
            migrate_all(with_database(PG_URL, self.db))
            tenant_grpc = free_port()
            self._start("tenant", with_database(PG_URL, self.db, app_role("tenant")), free_port(), tenant_grpc, {})
            # Argon2 at the lowest cost and no per-address registration limit, so that USERS accounts
            # register and log in quickly: /users/me hashes no password, so its figures do not move.
            self._start("auth", with_database(PG_URL, self.db, app_role("auth")), self.auth_http, free_port(),
                        {"GRPC_PEERS": json.dumps({"tenant": f"127.0.0.1:{tenant_grpc}"}), "ARGON2_TIME_COST": "1",
                         "ARGON2_MEMORY_KIB": "1024", "ARGON2_PARALLELISM": "1", "REGISTER_PER_MINUTE": "1000000"})
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self, service: str, db_url: str, http_port: int, grpc_port: int, extra: dict[str, str]) -> None:
        self.procs.append(start_service(service, http_port, {
            "GRPC_PORT": str(grpc_port), "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "NATS_URL": NATS_URL,
            "EVENTS_NAMESPACE": self.namespace, "REDIS_KEY_PREFIX": self.namespace, **extra}))

    def __exit__(self, *exc: object) -> None:
        stop(*self.procs)
        if self.db is not None:
            drop_database(PG_URL, self.db)
        purge_redis(self.namespace)
        purge_nats(self.namespace)


def _wrk(url: str, headers: dict[str, str], seconds: int, script: Path | None = None) -> wrk.WrkResult:
    return wrk.run(url, headers=headers, seconds=seconds, script=script)  # 1 thread, 32 connections


async def _tokens(base_url: str, users: int, concurrency: int = 16) -> list[str]:
    """Register and log in `users` accounts; their access tokens, each checked on /users/me once."""
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers={"Host": HOST}, timeout=30) as client:
        async def one(k: int) -> str:
            email = f"bench{k}@example.com"
            async with sem:
                (await client.post("/api/v1/auth/register", json={
                    "email": email, "password": PASSWORD, "display_name": f"Bench {k}",
                    "phone": f"+82 10-{k // 10_000:04d}-{k % 10_000:04d}"})).raise_for_status()
                login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
                login.raise_for_status()
                token = login.json()["access_token"]
                me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
                assert me.status_code == 200 and me.json()["email"] == email, me.text
                return token

        return list(await asyncio.gather(*(one(k) for k in range(users))))


def _rotation_script(tokens: list[str], folder: Path) -> Path:
    """A wrk Lua script that sends GET /users/me with the next token of `tokens` on every request
    (round-robin over all requests of the thread, so over all its connections); the requests are
    formatted once in init(), each with the command line's headers (Host) plus its Authorization."""
    path = folder / "rotate_tokens.lua"
    listed = ",\n".join(f'  "{t}"' for t in tokens)
    path.write_text(f"""local tokens = {{
{listed}
}}
local requests, i = {{}}, 0
function init(args)
  for k, token in ipairs(tokens) do
    local headers = {{}}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["Authorization"] = "Bearer " .. token
    requests[k] = wrk.format(nil, nil, headers)
  end
end
function request()
  i = i % #requests + 1
  return requests[i]
end
""")
    return path


def _through_edge(rounds: int, seconds: int, users: int) -> tuple[list[wrk.WrkResult], ...]:
    with _Platform() as platform, tempfile.TemporaryDirectory() as tmp:
        upstream = f"127.0.0.1:{platform.auth_http}"
        with local_edge({"auth": upstream, "exam": upstream}) as edge:
            with httpx.Client(base_url=edge.url, headers={"Host": HOST}, timeout=10) as client:
                client.post("/api/v1/auth/register", json={"email": "bench@example.com", "password": PASSWORD,
                                                           "display_name": "Bench", "phone": "+82 10-0000-0000"}
                            ).raise_for_status()
                login = client.post("/api/v1/auth/login", json={"email": "bench@example.com", "password": PASSWORD})
                login.raise_for_status()
                token = login.json()["access_token"]
                assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
                assert client.get("/healthz").json()["service"] == "auth"
            rotate = _rotation_script(asyncio.run(_tokens(edge.url, users)), Path(tmp))
            me_url = f"{edge.url}/api/v1/users/me"
            auth_headers = {"Host": HOST, "Authorization": f"Bearer {token}"}
            _wrk(me_url, auth_headers, 2)  # warm-ups, not reported
            _wrk(me_url, {"Host": HOST}, 2, rotate)
            _wrk(f"{edge.url}/healthz", {"Host": HOST}, 2)
            health, me, many, jwks = [], [], [], []
            for _ in range(rounds):
                health.append(_wrk(f"{edge.url}/healthz", {"Host": HOST}, seconds))
                me.append(_wrk(me_url, auth_headers, seconds))
                many.append(_wrk(me_url, {"Host": HOST}, seconds, rotate))
                jwks.append(_wrk(f"{edge.url}/.well-known/jwks.json", {"Host": HOST}, seconds))
    return health, me, many, jwks


def _profile_ttl() -> int:
    from services.auth.profile_cache import TTL_SECONDS

    return TTL_SECONDS


def _row(label: str, samples: list[float]) -> str:
    return (f"| {label} | {len(samples):,} | {_pct(samples, .5):.3f} | {_pct(samples, .99):.3f} | "
            f"{_pct(samples, .999):.3f} | {max(samples):.3f} |")


def run(rounds: int = 3, seconds: int = 8, users: int = USERS, calls: tuple[int, int, int] = (20_000, 5_000, 500)) -> str:
    """The report section. `rounds`, `seconds`, `users` and `calls` (decode, verify, revocation
    samples) shrink for a smoke run, e.g. `run(1, 1, 20, (200, 100, 20))`."""
    lat = asyncio.run(_verification(*calls))
    dec, prop, prop_x = lat["decode"], lat["propagation"], lat["propagation_process"]
    health, me, many, jwks = _through_edge(rounds, seconds, users)
    h_rps, m_rps = median(r.requests_per_s for r in health), median(r.requests_per_s for r in me)
    n_rps, j_rps = median(r.requests_per_s for r in many), median(r.requests_per_s for r in jwks)
    ratio, n_ratio = m_rps / h_rps, n_rps / h_rps
    rows = "\n".join(
        f"| {i + 1} | {h.requests_per_s:,.0f} | {h.p50_ms:.2f} | {h.p99_ms:.2f} | {m.requests_per_s:,.0f} | "
        f"{m.p50_ms:.2f} | {m.p99_ms:.2f} | {n.requests_per_s:,.0f} | {n.p50_ms:.2f} | {n.p99_ms:.2f} | "
        f"{j.requests_per_s:,.0f} | {sum(r.non_2xx + r.errors for r in (h, m, n, j))} |"
        for i, (h, m, n, j) in enumerate(zip(health, me, many, jwks)))
    p99_decode = _pct(dec, 0.99)
    return f"""## Auth: token verification and authenticated requests (issue: tenant and auth services)

In-process, one core, sequential single calls after a warm-up (EdDSA / Ed25519 via PyJWT and
`cryptography`; the verifying key already cached from the JWKS). `verify` is what every
authenticated request runs: signature and claims (remembered per token string until `exp`), then
the denylist (`jti`, `sid`) — asked of Redis directly, or of the service's `TrackedCache`
(megacity.redis_cache: client-side cache kept exact by Redis `CLIENT TRACKING` invalidations).

| operation | calls | p50 ms | p99 ms | p99.9 ms | max ms |
|---|---|---|---|---|---|
{_row("`TokenVerifier.decode` (signature + claims, nothing remembered)", dec)}
{_row("`TokenVerifier.verify`, denylist read from Redis (one MGET)", lat["verify_redis"])}
{_row("`TokenVerifier.verify`, denylist through the TrackedCache (as services run it)", lat["verify_cache"])}
{_row("revocation propagation: another client in this process SETs → this cache refuses", prop)}
{_row("revocation propagation: another OS process SETs → this cache refuses", prop_x)}

**Token verification p99 {p99_decode:.3f} ms** (goal ≤ 0.2 ms: {"meets" if p99_decode <= 0.2 else "MISSES"}). A revocation
written to Redis by another OS process reaches this process's verifier cache in p99 {_pct(prop_x, .99):.3f} ms
(max {max(prop_x):.3f} ms), same machine: Redis sends the invalidation in the same event-loop pass that executes
the write. The writer (a separate `python` with redis-py) reads the system-wide monotonic clock just before its
SET; this process reads it when its cache first refuses the token; the difference is the figure (after 20
unreported warm-up revocations).

Through the local edge (Traefik, keep-alive upstream, rate limits off), `Host: {HOST}`, against one
auth process (uvicorn, PostgreSQL + Redis local): `GET /healthz` vs `GET /api/v1/users/me` with a
real access token (signature remembered per token, denylist and cached profile read through auth's
TrackedCache — in process unless Redis announced a change — phone decrypted once per cached
profile; the database only when the 2-minute profile cache is cold).
/users/me runs twice: with one user's token on every request (every cache hot), and with {users:,} users'
tokens, round-robin over the requests of all connections (a wrk Lua script rotating the Authorization
header; requests formatted once at start), so each request meets a different token, denylist entry and
cached profile. Auth's profile cache lives {_profile_ttl()} s, so during the rounds profiles expire and are
reloaded from PostgreSQL as in production. The users were registered and logged in through the edge before
the rounds (auth's Argon2 cost lowered for that: /users/me hashes no password).
wrk, 1 thread, 32 connections, {seconds} s per run after warm-ups, {rounds} alternating rounds, same
machine ({os.cpu_count()} cores shared by wrk, Traefik, auth, PostgreSQL and Redis).

| round | /healthz req/s | p50 ms | p99 ms | /users/me (1 token) req/s | p50 ms | p99 ms \
| /users/me ({users:,} tokens) req/s | p50 ms | p99 ms | JWKS req/s | non-2xx + errors |
|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}

**Median: /healthz {h_rps:,.0f} req/s; authenticated /users/me with one token {m_rps:,.0f} req/s — {ratio:.0%} of the
health endpoint's throughput — and with {users:,} tokens round-robin {n_rps:,.0f} req/s — {n_ratio:.0%}** (goal ≥ 50%:
{"meets" if min(ratio, n_ratio) >= 0.5 else "MISSES"} {"for both" if min(ratio, n_ratio) >= 0.5 or max(ratio, n_ratio) < 0.5 else
"for one token only" if ratio >= 0.5 else f"for {users:,} tokens only"}).

For scale, the JWKS column is an unauthenticated endpoint with no I/O (keys cached in the process)
that goes through routing, Prometheus middleware and a validated response model: {j_rps:,.0f} req/s,
{j_rps / h_rps:.0%} of /healthz. Tracing is off in this run (OTEL_TRACES_EXPORTER=none, so no span
instrumentation is installed). History of this figure: 20% (Redis round trip per request, HTTP
instrumentation always on) → 28% (instrumentation only with tracing, gc.freeze, hiredis) → now:
the denylist and profile read from the TrackedCache instead of a Redis round trip per request,
`current_principal` and /users/me without FastAPI sub-dependencies, the body built from a
memoised view of the cached profile, Prometheus series looked up once, FastAPI's built-in
telemetry hooks off.
"""


if __name__ == "__main__":
    print(run())
