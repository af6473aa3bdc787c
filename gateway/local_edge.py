"""Run the native edge: nginx as a foreground child process with all its state in one dir.

    edge = LocalEdge(EdgeConfig(listen_port=8080), state_dir=".state/edge")
    edge.start()   # returns once the port accepts connections
    ...
    edge.stop()    # graceful (SIGQUIT), then SIGTERM / SIGKILL if it hangs

A real reverse proxy, not Python, does the host routing locally (ARCHITECTURE: "Two machines
of truth"), so the native run exercises the same kind of edge as compose.
"""
from __future__ import annotations

import dataclasses
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

from gateway.nginx import EdgeConfig, render_nginx_conf

NGINX_BIN = os.environ.get("MEGACITY_NGINX", "/usr/sbin/nginx")


class NginxError(RuntimeError):
    """nginx refused the config or did not come up."""


def prepare_state_dir(state_dir: Path) -> None:
    """The directories the rendered config expects under the nginx prefix."""
    for sub in ("logs", "tmp", "static"):
        (state_dir / sub).mkdir(parents=True, exist_ok=True)


def _base_cmd(state_dir: Path, conf: Path) -> list[str]:
    # -e: errors before the config's error_log is read go to the state dir too (not /var/log).
    return [NGINX_BIN, "-p", f"{state_dir}/", "-e", "logs/error.log", "-c", str(conf), "-g", "daemon off;"]


def validate(conf_text: str, state_dir: str | Path) -> str:
    """Run `nginx -t` on a config; returns nginx's report, raises NginxError when it fails."""
    state_dir = Path(state_dir).resolve()
    prepare_state_dir(state_dir)
    conf = state_dir / "nginx-test.conf"
    conf.write_text(conf_text)
    proc = subprocess.run([*_base_cmd(state_dir, conf), "-t", "-q"], capture_output=True, text=True, timeout=30,
                          check=False)
    if proc.returncode != 0:
        raise NginxError(f"nginx -t failed:\n{proc.stderr}{proc.stdout}")
    return proc.stderr + proc.stdout


def _listen_address(conf_text: str) -> tuple[str, int]:
    m = re.search(r"^\s*listen\s+(?:([\d.]+):)?(\d+)", conf_text, re.MULTILINE)
    if not m:
        raise NginxError("no listen directive in the config")
    return m.group(1) or "127.0.0.1", int(m.group(2))


class LocalEdge:
    """nginx for the native platform: `config` is an EdgeConfig (rendered here) or a full
    nginx.conf text; `state_dir` holds the config, pid, logs and temp files."""

    def __init__(self, config: EdgeConfig | str | None = None, state_dir: str | Path = ".state/edge") -> None:
        config = EdgeConfig() if config is None else config
        if isinstance(config, EdgeConfig):
            if config.user is None and os.geteuid() == 0:
                # A root master would run workers as `nobody`, which cannot read the caller's files.
                config = dataclasses.replace(config, user=pwd.getpwuid(0).pw_name)
            config = render_nginx_conf(config)
        self.conf_text = config
        self.state_dir = Path(state_dir).resolve()
        self.conf_path = self.state_dir / "nginx.conf"
        self.host, self.port = _listen_address(config)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> Self:
        """Write the config, check it, start nginx and wait until the port accepts connections."""
        validate(self.conf_text, self.state_dir)
        self.conf_path.write_text(self.conf_text)
        with open(self.state_dir / "logs" / "nginx.out", "ab") as out:
            self._proc = subprocess.Popen(_base_cmd(self.state_dir, self.conf_path), stdout=out, stderr=out,
                                          stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise NginxError(f"nginx exited with {self._proc.returncode}:\n{self.error_log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise NginxError(f"nginx did not listen on {self.host}:{self.port} within {timeout}s:\n{self.error_log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown (finish in-flight requests), escalating if nginx does not exit."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig in (signal.SIGQUIT, signal.SIGTERM, signal.SIGKILL):
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout / 2)
                return
            except subprocess.TimeoutExpired:
                continue

    def reload(self) -> None:
        """Re-read a changed config without dropping connections (SIGHUP)."""
        if self._proc is None:
            raise NginxError("not running")
        validate(self.conf_text, self.state_dir)
        self.conf_path.write_text(self.conf_text)
        self._proc.send_signal(signal.SIGHUP)

    def error_log(self) -> str:
        path = self.state_dir / "logs" / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
