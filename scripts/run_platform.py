"""`make run`: the whole MegaCity platform natively on this machine (no Docker).

1. PostgreSQL, Redis, NATS: the ones at MC_POSTGRES_ADMIN_URL / MC_REDIS_URL / MC_NATS_URL when
   they answer, else embedded ones from pip packages, with state under .state/ (scripts/local_deps.py).
   SMTP: the relay at MC_SMTP_URL, else a local aiosmtpd process keeping mail in .state/mail/.
2. Database MC_DATABASE_NAME (default `megacity`): created if missing, roles/schemas bootstrapped,
   every service migrated, demo orgs seeded. Idempotent.
3. The nine services (`python -m services.<name>`; web serves every zone's www./app./admin.
   pages), logs in .state/logs/<name>.log, each waited for on /readyz.
   Then the demo accounts (scripts/demo_seed.py: admins per zone, a classroom in univ, a known
   development password and TOTP secret), created through auth's and tenant's own code paths
   and printed. Idempotent; the services run with ENVIRONMENT=development, the only place it runs.
4. The Traefik edge on MC_EDGE_PORT (default 8080, plain HTTP) and MC_EDGE_TLS_PORT (default 8443,
   HTTPS with a self-signed certificate: browsers sign in there, the refresh cookie is Secure),
   routing every zone's hosts to the services.
5. Runs until Ctrl-C / SIGTERM, then stops everything it started.

`--check` (or MC_RUN_ONCE=1): start, send smoke requests through the edge, log every univ demo
account in (TOTP where the role needs it), stop; exit 0 when they pass. MC_PORT_OFFSET shifts
every service port so a second platform (tests) can run beside a running one;
MC_EVENTS_NAMESPACE / MC_REDIS_KEY_PREFIX isolate its events and Redis keys, and MC_STATE_DIR
moves .state/.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "libs")]  # also when run without the Makefile's PYTHONPATH

import demo_seed
import httpx
import local_deps
import psycopg
from psycopg import sql

from gateway.local_edge import EdgeConfig, EdgeError, LocalEdge
from megacity.db.bootstrap import app_role, owner_role
from megacity.db.engine import with_database
from megacity.db.migrations import has_migrations, migrate_all
from megacity.zones import registry

STATE = Path(os.environ.get("MC_STATE_DIR", ROOT / ".state")).resolve()
LOGS = STATE / "logs"
SMOKE_HOST = "api.univprepai.com"
SMOKE_PAGE_HOST = "www.univprepai.com"
ENVIRONMENT = "development"  # of every service make run starts, and the demo seed's condition


class Shutdown(Exception):
    """SIGINT/SIGTERM arrived: stop everything and exit 0."""


class StartupError(RuntimeError):
    """Something did not come up; the message says what and where to look."""


@dataclass(frozen=True)
class Options:
    admin_url: str
    redis_url: str
    nats_url: str
    smtp_url: str
    database: str
    edge_port: int
    edge_tls_port: int
    port_offset: int
    ready_timeout: float
    check: bool

    @classmethod
    def from_env(cls, check: bool) -> Options:
        env = os.environ.get
        offset = int(env("MC_PORT_OFFSET", "0"))
        highest = max(max(s.http_port, s.grpc_port) for s in registry().services.values())
        if not 0 <= offset <= 65535 - highest:
            raise StartupError(f"MC_PORT_OFFSET={offset}: must be between 0 and {65535 - highest}")
        return cls(
            admin_url=env("MC_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres").replace(
                "postgresql+psycopg://", "postgresql://", 1),
            redis_url=env("MC_REDIS_URL", "redis://127.0.0.1:6379/0"),
            nats_url=env("MC_NATS_URL", "nats://127.0.0.1:4222"),
            smtp_url=env("MC_SMTP_URL", ""),  # empty: a local aiosmtpd sink writing to .state/mail
            database=env("MC_DATABASE_NAME", "megacity"),
            edge_port=int(env("MC_EDGE_PORT", "8080")),
            edge_tls_port=int(env("MC_EDGE_TLS_PORT", "8443")),
            port_offset=offset,
            ready_timeout=float(env("MC_READY_TIMEOUT", "90")),
            check=check or env("MC_RUN_ONCE", "") not in ("", "0"),
        )


# --- database -----------------------------------------------------------------------------

def prepare_database(admin_url: str, database: str) -> None:
    """Create the database if missing, bootstrap roles, migrate every service, seed demo orgs."""
    from services.tenant.seed import seed

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            print(f"  created database {database}")
    os.environ.setdefault("TENANT_ENVIRONMENT", ENVIRONMENT)  # tenant 0011's key rule (services/tenant/pii.py)
    migrate_all(with_database(admin_url, database))
    created = asyncio.run(seed(with_database(admin_url, database, app_role("tenant"))))
    print(f"  database {database}: migrated, demo orgs created: {created}")


# --- services -----------------------------------------------------------------------------

@dataclass
class Service:
    name: str
    http_port: int
    grpc_port: int
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"

    @property
    def readyz(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/readyz"


def service_env(svc: Service, opts: Options, deps: dict[str, local_deps.Dependency]) -> dict[str, str]:
    """Environment of one service process: its <SVC>_* settings plus the OTEL_* variables."""
    admin = deps["postgres"].url
    p = svc.name.upper().replace("-", "_") + "_"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "libs"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if has_migrations(svc.name):  # services that keep no tables (cat, inference, web) get no database
        env.update({
            f"{p}DATABASE_URL": with_database(admin, opts.database, app_role(svc.name)),
            f"{p}MIGRATION_DATABASE_URL": with_database(admin, opts.database, owner_role(svc.name)),
        })
    env.update({
        f"{p}REDIS_URL": deps["redis"].url,
        f"{p}NATS_URL": deps["nats"].url,
        f"{p}ENVIRONMENT": ENVIRONMENT,
        f"{p}HTTP_PORT": str(svc.http_port),
        f"{p}GRPC_PORT": str(svc.grpc_port),
        f"{p}GRPC_PEERS": json.dumps({name: f"127.0.0.1:{spec.grpc_port + opts.port_offset}"
                                      for name, spec in registry().services.items()}),
        # Verifiers fetch auth's keys where this run put auth (MC_PORT_OFFSET moves it).
        f"{p}JWKS_URL": f"http://127.0.0.1:{registry().services['auth'].http_port + opts.port_offset}"
                        "/.well-known/jwks.json",
        "OTEL_SERVICE_NAME": svc.name,
    })
    if "smtp" in deps:  # every service mails through the run's SMTP server (embedded: a local sink)
        env[f"{p}SMTP_URL"] = deps["smtp"].url
        if not deps["smtp"].embedded:
            env.setdefault(f"{p}SMTP_SECURITY", os.environ.get("MC_SMTP_SECURITY", "auto"))
        else:
            env[f"{p}SMTP_SECURITY"] = "none"
    if svc.name == "auth":  # emailed links open this run's www pages through the local edge
        env["AUTH_ACCOUNT_LINK_BASE"] = f"https://www.{{domain}}:{opts.edge_tls_port}"
    if svc.name == "web":  # the admin health page reads each service's /readyz where this run put it
        env["WEB_HEALTH_TARGETS"] = json.dumps({name: f"http://127.0.0.1:{spec.http_port + opts.port_offset}"
                                                for name, spec in registry().services.items() if name != "web"})
    for var, setting in (("MC_EVENTS_NAMESPACE", "EVENTS_NAMESPACE"), ("MC_REDIS_KEY_PREFIX", "REDIS_KEY_PREFIX")):
        if os.environ.get(var):
            env[p + setting] = os.environ[var]
    if not env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.setdefault("OTEL_TRACES_EXPORTER", "none")
    return env


def stop_stale_edge(edge_dir: Path) -> None:
    """An edge left by a runner that was killed (-9) still holds the edge port: stop it."""
    for pid in LocalEdge.stop_stale(edge_dir):
        print(f"edge: stopped pid {pid} left running by an earlier run")


def check_ports_free(services: list[Service], edge_port: int, edge_tls_port: int) -> None:
    """Fail early, and clearly, when a port is taken (gRPC's SO_REUSEPORT would not notice)."""
    ports = [(f"{s.name} http", s.http_port) for s in services] + [(f"{s.name} grpc", s.grpc_port) for s in services]
    taken = [f"{what} :{port}" for what, port in ports + [("edge", edge_port), ("edge https", edge_tls_port)]
             if local_deps.tcp_open(f"tcp://127.0.0.1:{port}", timeout=0.2)]
    if taken:
        raise StartupError(f"ports in use: {', '.join(taken)} (another platform running? "
                           "stop it, or set MC_PORT_OFFSET / MC_EDGE_PORT / MC_EDGE_TLS_PORT)")


def start_service(svc: Service, env: dict[str, str]) -> None:
    with open(svc.log, "wb") as out:  # one run per log, so its tail is about this run
        svc.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{svc.name}"], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0,
            preexec_fn=local_deps.die_with_parent)  # noqa: PLW1509 - no threads


def wait_ready(services: list[Service], timeout: float) -> None:
    """Poll every /readyz; one line per service as it becomes ready; fail on an early exit."""
    started = time.monotonic()
    pending = list(services)
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while pending:
            for svc in list(pending):
                if svc.process.poll() is not None:
                    raise StartupError(f"{svc.name} exited with {svc.process.returncode} before it was ready; "
                                       f"last lines of {svc.log}:\n{local_deps.tail(svc.log, 40)}")
                try:
                    ok = client.get(svc.readyz).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    pending.remove(svc)
                    print(f"  {svc.name:<10} ready  {time.monotonic() - started:5.1f}s  "
                          f"http :{svc.http_port}  grpc :{svc.grpc_port}")
            if pending and time.monotonic() - started > timeout:
                names = ", ".join(s.name for s in pending)
                raise StartupError(f"not ready after {timeout:.0f}s: {names}; see their logs in {LOGS}")
            time.sleep(0.25)


def stop_services(services: list[Service], grace: float = 15.0) -> None:
    """SIGTERM every service, wait up to `grace` seconds in all, then kill the rest."""
    running = [s for s in services if s.process and s.process.poll() is None]
    for svc in running:
        svc.process.terminate()
    deadline = time.monotonic() + grace
    for svc in running:
        try:
            svc.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {svc.name} did not stop in {grace:.0f}s; killing it")
            svc.process.kill()
            svc.process.wait()


# --- demo accounts ------------------------------------------------------------------------

def demo_endpoints(services: list[Service]) -> demo_seed.Endpoints:
    by_name = {s.name: s for s in services}
    return demo_seed.Endpoints(auth_http=f"http://127.0.0.1:{by_name['auth'].http_port}",
                               tenant_http=f"http://127.0.0.1:{by_name['tenant'].http_port}",
                               tenant_grpc=f"127.0.0.1:{by_name['tenant'].grpc_port}")


def seed_demo_accounts(services: list[Service], admin_url: str, database: str) -> None:
    """Create (if missing) and print the demo accounts, through the running auth and tenant."""
    from services.auth.settings import Settings as AuthSettings

    auth_url = with_database(admin_url, database, app_role("auth"))
    auth = AuthSettings(environment=ENVIRONMENT, database_url=auth_url)  # the keys and cost the auth process uses
    try:
        result = asyncio.run(demo_seed.seed(
            auth_url, demo_endpoints(services), environment=auth.environment, pii_keys=auth.pii_key_list,
            argon2={"time_cost": auth.argon2_time_cost, "memory_kib": auth.argon2_memory_kib,
                    "parallelism": auth.argon2_parallelism}))
    except demo_seed.DemoSeedError as exc:
        raise StartupError(f"demo accounts: {exc}") from exc
    demo_seed.print_accounts(result)


def smoke_demo_logins(services: list[Service]) -> bool:
    """Every univ demo account logs in (TOTP for the admins) and /users/me shows its role."""
    endpoints = demo_endpoints(services)

    async def check() -> bool:
        ok = True
        async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
            for account in demo_seed.demo_accounts():
                if account.zone_key != demo_seed.SEED_ZONE:
                    continue
                try:
                    tokens = await demo_seed.login(client, endpoints.auth_http, account)
                    me = await client.get(f"{endpoints.auth_http}/api/v1/users/me", headers={
                        "Host": SMOKE_HOST, "Authorization": f"Bearer {tokens['access_token']}"})
                    good = me.status_code == 200 and me.json().get("role") == account.role
                    seen = f"{me.status_code} role={me.json().get('role')}"
                except demo_seed.DemoSeedError as exc:
                    good, seen = False, str(exc)
                ok &= good
                print(f"smoke demo login {account.email} ({account.role}) -> {seen}  [{'ok' if good else 'FAIL'}]")
        return ok

    return asyncio.run(check())


# --- output -------------------------------------------------------------------------------

def print_urls(edge_port: int, edge_tls_port: int) -> None:
    print(f"\nMegaCity is up. Edge: http://127.0.0.1:{edge_port} and https://127.0.0.1:{edge_tls_port} "
          "(self-signed; hosts are chosen by the Host header)")
    for zone in registry().zones:
        for domain in zone.domains:
            print(f"  {zone.key:<10} https://www.{domain}:{edge_tls_port}  https://app.{domain}:{edge_tls_port}  "
                  f"http://api.{domain}:{edge_port}")
    print("Pages in a browser: resolve the hosts to 127.0.0.1 (/etc/hosts, or chromium "
          "--host-resolver-rules='MAP *.univprepai.com 127.0.0.1') and accept the certificate.")
    print("\nTry:")
    print(f"  curl -H 'Host: {SMOKE_HOST}' http://127.0.0.1:{edge_port}/api/v1/zone")
    print(f"  curl -X POST -H 'Host: {SMOKE_HOST}' http://127.0.0.1:{edge_port}/api/v1/diagnostics/probe")
    print(f"  curl --resolve {SMOKE_HOST}:{edge_port}:127.0.0.1 http://{SMOKE_HOST}:{edge_port}/api/v1/zone")
    print(f"Mail (password reset, email verification, notifications): {STATE / 'mail'}/new/ "
          "(one file per message; or set MC_SMTP_URL to a relay)")
    print(f"Logs: {LOGS}/   Stop: Ctrl-C\n", flush=True)


def smoke(edge_port: int) -> bool:
    """GET /api/v1/zone and POST a mesh probe through the edge; wait for K-Zone's receipt; GET
    the landing page of www.univprepai.com (web, through the edge)."""
    base, headers = f"http://127.0.0.1:{edge_port}", {"Host": SMOKE_HOST}
    ok = True
    with httpx.Client(base_url=base, timeout=10.0, trust_env=False) as pages:
        page = pages.get("/", headers={"Host": SMOKE_PAGE_HOST})
        good = (page.status_code == 200 and page.headers.get("x-served-by") == "web"
                and page.headers.get("content-type", "").startswith("text/html"))
        ok &= good
        print(f"smoke GET  {SMOKE_PAGE_HOST}/ -> {page.status_code} {page.headers.get('content-type')}  "
              f"[{'ok' if good else 'FAIL'}]")
    with httpx.Client(base_url=base, headers=headers, timeout=10.0, trust_env=False) as client:
        zone = client.get("/api/v1/zone")
        good = zone.status_code == 200 and zone.json().get("key") == "univ"
        ok &= good
        print(f"smoke GET  /api/v1/zone -> {zone.status_code} {zone.text}  [{'ok' if good else 'FAIL'}]")
        probe = client.post("/api/v1/diagnostics/probe", json={"note": "make run --check"})
        good = probe.status_code == 201
        ok &= good
        print(f"smoke POST /api/v1/diagnostics/probe -> {probe.status_code} {probe.text}  [{'ok' if good else 'FAIL'}]")
        if good:
            probe_id = probe.json()["probe_id"]
            path = f"/api/v1/kzone/mesh-probes/{probe_id}"
            deadline = time.monotonic() + 20
            while (receipt := client.get(path)).status_code == 404 and time.monotonic() < deadline:
                time.sleep(0.5)
            good = receipt.status_code == 200
            ok &= good
            print(f"smoke GET  {path} -> {receipt.status_code} {receipt.text}  [{'ok' if good else 'FAIL'}]")
    print(f"smoke: {'passed' if ok else 'FAILED'}", flush=True)
    return ok


# --- main ---------------------------------------------------------------------------------

def _on_signal(signum: int, _frame: object) -> None:
    raise Shutdown(signal.Signals(signum).name)


def run(opts: Options) -> int:
    deps: dict[str, local_deps.Dependency] = {}
    services: list[Service] = []
    edge: LocalEdge | None = None
    planned = [Service(name, spec.http_port + opts.port_offset, spec.grpc_port + opts.port_offset)
               for name, spec in registry().services.items()]
    try:
        stop_stale_edge(STATE / "edge")
        check_ports_free(planned, opts.edge_port, opts.edge_tls_port)
        LOGS.mkdir(parents=True, exist_ok=True)
        print("dependencies:")
        for name, url in (("postgres", opts.admin_url), ("redis", opts.redis_url), ("nats", opts.nats_url)):
            deps[name] = local_deps.ensure(name, url, STATE)
            kind = "embedded" if deps[name].embedded else "external"
            print(f"  {name:<10} {kind:<9} {local_deps.display_url(deps[name].url)}")
        deps["smtp"] = local_deps.ensure_smtp(opts.smtp_url, STATE)
        print(f"  {'smtp':<10} {'embedded' if deps['smtp'].embedded else 'external':<9} "
              f"{local_deps.display_url(deps['smtp'].url)}"
              + (f"  (mail lands in {STATE / 'mail'}/new/)" if deps["smtp"].embedded else ""))
        print("database:")
        prepare_database(deps["postgres"].url, opts.database)
        print("services:")
        for svc in planned:
            start_service(svc, service_env(svc, opts, deps))
            services.append(svc)
        wait_ready(services, opts.ready_timeout)
        print("demo accounts:")
        seed_demo_accounts(services, deps["postgres"].url, opts.database)
        upstreams = {s.name: f"127.0.0.1:{s.http_port}" for s in services}
        edge = LocalEdge(EdgeConfig(listen_port=opts.edge_port, tls_port=opts.edge_tls_port, upstreams=upstreams),
                         STATE / "edge")
        edge.start()
        print(f"edge: Traefik on 127.0.0.1:{opts.edge_port}, https :{edge.tls_port} (logs {STATE / 'edge' / 'logs'})")
        if opts.check:
            edge_ok = smoke(opts.edge_port)
            demo_ok = smoke_demo_logins(services)
            print(f"smoke demo logins: {'passed' if demo_ok else 'FAILED'}", flush=True)
            return 0 if edge_ok and demo_ok else 1
        print_urls(opts.edge_port, opts.edge_tls_port)
        while True:  # until a signal; a service that dies takes the platform down with it
            for svc in services:
                if svc.process.poll() is not None:
                    raise StartupError(f"{svc.name} exited with {svc.process.returncode}; last lines of "
                                       f"{svc.log}:\n{local_deps.tail(svc.log, 40)}")
            time.sleep(1)
    except Shutdown as sig:
        print(f"\n{sig}: stopping")
        return 0
    except (StartupError, local_deps.DependencyError, EdgeError) as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        return 1
    finally:
        # Signals during clean-up must not cut it short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if edge is not None:
            edge.stop()
        stop_services(services)
        for dep in reversed(list(deps.values())):
            dep.stop()
        print("stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="start, run smoke requests through the edge, stop")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        opts = Options.from_env(args.check)
    except StartupError as exc:
        sys.exit(f"ERROR: {exc}")
    sys.exit(run(opts))


if __name__ == "__main__":
    main()
