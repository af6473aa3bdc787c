"""Helpers the benchmarks share: ports, service subprocesses, the local edge, a JWKS server for a
signing key, throwaway and private PostgreSQL, database counters, Redis/NATS clean-up.
(wrk runs and parsing live in bench/wrk.py.)

Importing this module puts the repository root and libs/ on sys.path when they are missing, so
`python -m bench.NAME` works without PYTHONPATH.
"""
from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT / "libs"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

if TYPE_CHECKING:
    from gateway.local_edge import LocalEdge

HOST = "api.univprepai.com"  # the zone most benchmarks address through the edge
PG_URL = os.environ.get("MC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("MC_TEST_NATS_URL", "nats://127.0.0.1:4222")


# --- provenance ------------------------------------------------------------------------------

def commit_stamp() -> str:
    """The commit a run measures: `git rev-parse --short HEAD`, plus `+dirty` when tracked or
    untracked (not ignored) files differ from it — bench/REPORT.md aside, which a run rewrites
    itself. "unknown" outside a git checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", ".", ":(exclude)bench/REPORT.md")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


STAMP = "Measured at commit "


def stamp_section(text: str, commit: str | None) -> str:
    """`text` (a report section, starting with its `## ` heading) with a line naming the commit
    measured right under the heading, replacing an older one. `commit` None marks a section
    carried over from a report written before sections were stamped (only if it has no stamp)."""
    head, _, rest = text.partition("\n")
    rest = rest.lstrip("\n")
    if rest.startswith(STAMP):
        if commit is None:
            return text
        rest = rest.partition("\n")[2].lstrip("\n")
    line = f"{STAMP}`{commit}`." if commit else f"{STAMP}(not recorded: this run predates commit stamps)."
    return f"{head}\n\n{line}\n\n{rest}"


# --- network ----------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable_nats_url() -> str:
    """A NATS URL with nobody there: a service's outbox relay and consumers stay idle."""
    return f"nats://127.0.0.1:{free_port()}"


class JwksServer:
    """Serves a signing key's public JWK as auth's /.well-known/jwks.json would, in a thread."""

    def __init__(self, key: Any) -> None:  # megacity.auth.tokens.SigningKey
        body = json.dumps({"keys": [key.public_jwk()]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> JwksServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def local_edge(upstreams: dict[str, str]) -> Iterator[LocalEdge]:
    """The local edge (Traefik from gateway/traefik.py) on a free port in a temporary folder, rate
    limits off: one load generator on one address would measure the limiter."""
    from gateway.local_edge import EdgeConfig, LocalEdge

    with tempfile.TemporaryDirectory() as tmp:
        cfg = EdgeConfig(listen_port=free_port(), upstreams=upstreams, rate_limits=False)
        with LocalEdge(cfg, Path(tmp) / "edge") as edge:
            yield edge


# --- service subprocesses -----------------------------------------------------------------------

def start_service(name: str, http_port: int, settings: dict[str, str] | None = None, *,
                  log_level: str = "WARNING", timeout_s: float = 60.0) -> subprocess.Popen:
    """`python -m services.NAME` with NAME_HTTP_PORT, NAME_LOG_LEVEL and NAME_<key> for each of
    `settings` (tracing export off, output discarded); returns once GET /readyz answers 200.
    Raises SystemExit (after stopping it) if it exits or is not ready within `timeout_s`."""
    prefix = name.upper()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'libs'}", "OTEL_TRACES_EXPORTER": "none",
           f"{prefix}_HTTP_PORT": str(http_port), f"{prefix}_LOG_LEVEL": log_level,
           # Benches measure the service, not the per-account limit (300/min) every caller would hit.
           f"{prefix}_RATE_LIMIT_ENABLED": "false",
           **{f"{prefix}_{k}": v for k, v in (settings or {}).items()}}
    proc = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{http_port}/readyz", proc, name, timeout_s)
    except BaseException:
        stop(proc)
        raise
    return proc


def wait_ready(url: str, proc: subprocess.Popen, name: str, timeout_s: float = 60.0) -> None:
    """Poll `url` until it answers 200; SystemExit if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited during start-up (rc {proc.returncode})")
        time.sleep(0.05)
    raise SystemExit(f"{name} did not become ready")


def stop(*procs: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """SIGTERM all (last started first), then wait for each; kill what outlives `timeout_s`."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- PostgreSQL -------------------------------------------------------------------------------

def plain(url: str) -> str:
    """A SQLAlchemy psycopg URL as psycopg.connect takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_database(admin_url: str, prefix: str = "mc_bench_") -> str:
    """An empty database named `prefix` + 8 random hex digits; returns the name."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(admin_url: str, name: str) -> None:
    """Drop it, disconnecting whoever is still on it."""
    with psycopg.connect(plain(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def statements_loaded(admin_url: str) -> bool:
    """Whether the server preloads pg_stat_statements (shared_preload_libraries)."""
    with psycopg.connect(plain(admin_url), autocommit=True) as conn:
        return "pg_stat_statements" in conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]


def enable_pg_stat_statements(url: str) -> None:
    """CREATE EXTENSION pg_stat_statements in the database of `url` (the library must be preloaded)."""
    with psycopg.connect(plain(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


@dataclass
class Postgres:
    """A server to benchmark against; `proc`/`datadir` are set for a private one, which `stop` ends."""

    admin_url: str  # superuser, database `postgres`
    statements: bool  # pg_stat_statements loaded
    note: str
    proc: subprocess.Popen | None = None
    datadir: Path | None = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.datadir is not None:
            shutil.rmtree(self.datadir, ignore_errors=True)


def pg_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin that has pg_stat_statements next to it."""
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True):
        bindir = Path(cand).parent
        if (bindir.parent / "lib" / "pg_stat_statements.so").exists():
            return bindir
    return None


def start_private_postgres() -> tuple[Postgres | None, str]:
    """A throwaway cluster (initdb in a temp folder, trust auth, free port, autovacuum off) with
    pg_stat_statements preloaded and created in `postgres`: (the cluster, "") or (None, why not)."""
    bindir = pg_bindir()
    if bindir is None:
        return None, "no PostgreSQL binaries with pg_stat_statements found"
    user = "postgres" if os.geteuid() == 0 else None
    datadir = Path(tempfile.mkdtemp(prefix="mc-bench-pg-"))
    if user:
        shutil.chown(datadir, user, user)
    init = subprocess.run([str(bindir / "initdb"), "-D", str(datadir), "--auth=trust", "-U", "postgres", "-E", "utf8"],
                          user=user, capture_output=True, text=True, check=False)
    if init.returncode != 0:
        shutil.rmtree(datadir, ignore_errors=True)
        return None, f"initdb failed: {(init.stderr or init.stdout).strip().splitlines()[-1:]}"
    port = free_port()
    proc = subprocess.Popen([str(bindir / "postgres"), "-D", str(datadir), "-h", "127.0.0.1", "-p", str(port),
                             "-k", str(datadir), "-c", "shared_preload_libraries=pg_stat_statements",
                             "-c", "pg_stat_statements.track=all", "-c", "max_connections=100",
                             "-c", "autovacuum=off"],  # no background transactions in the counted windows
                            user=user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    pg = Postgres(url, True, f"private PostgreSQL ({bindir.parent.name}) with pg_stat_statements", proc, datadir)
    for _ in range(150):
        try:
            with psycopg.connect(url, connect_timeout=1, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            return pg, ""
        except psycopg.OperationalError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    pg.stop()
    return None, "the private server did not start"


@dataclass
class DbCounters:
    statements: int | None  # pg_stat_statements calls in the database (any role); None: not loaded
    xacts: int  # pg_stat_database commits + rollbacks of the database
    top: list[tuple[int, str]] = field(default_factory=list)  # (calls, query start), most called first


def db_counters(admin_url: str, dbname: str, statements: bool) -> DbCounters:
    """Server-side work counters of database `dbname`, read over `admin_url` (another database, so
    the reading itself is not counted). Counters lag: backends flush them when idle."""
    with psycopg.connect(plain(admin_url), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        xacts = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                             (dbname,)).fetchone()[0]
        if not statements:
            return DbCounters(None, xacts)
        rows = conn.execute(
            "SELECT s.calls, left(s.query, 80) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = %s ORDER BY s.calls DESC", (dbname,)).fetchall()
    return DbCounters(sum(c for c, _ in rows), xacts, [(c, q) for c, q in rows])


# --- clean-up ---------------------------------------------------------------------------------

def purge_redis(prefix: str, url: str = REDIS_URL) -> None:
    """Delete every Redis key under `prefix:`."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def purge_nats(namespace: str, url: str = NATS_URL) -> None:
    """Delete the JetStream streams whose names start with `namespace` (any case); nothing if
    NATS does not answer."""
    async def clean() -> None:
        import nats

        async def quiet(_exc: Exception) -> None:
            pass

        try:  # few tries: with the client's defaults a NATS that is down holds this up for two minutes
            nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=1, reconnect_time_wait=0.5,
                                    error_cb=quiet)
        except Exception:  # noqa: BLE001 - nothing to clean without NATS
            return
        try:
            js = nc.jetstream()
            for stream in await js.streams_info():
                if stream.config.name.lower().startswith(namespace.lower()):
                    await js.delete_stream(stream.config.name)
        finally:
            await nc.close()

    asyncio.run(clean())
