"""Run wrk (Debian package) and parse requests/s and latency percentiles from its output."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int
    requests: int  # all completed requests ("N requests in ..."), 2xx or not


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unparsable latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse(output: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    total = int(re.search(r"(\d+) requests in", output).group(1))
    return WrkResult(rps, p50, p99, int(non2xx.group(1)) if non2xx else 0,
                     sum(int(g) for g in errors.groups()) if errors else 0, total)


def run(url: str, *, host: str | None = None, headers: dict[str, str] | None = None, seconds: int = 8,
        connections: int = 32, threads: int = 1, script: Path | None = None, timeout: str | None = None) -> WrkResult:
    """`wrk -tTHREADS -cCONNECTIONS -dSECONDS --latency URL`, plus `-H` for `host` (as Host:) and each
    of `headers`, `-s script` (a Lua script) and `--timeout` (wrk's per-request timeout, e.g. "10s")."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: run `make setup` (installs Debian's wrk)")
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in {**({"Host": host} if host else {}), **(headers or {})}.items():
        cmd += ["-H", f"{name}: {value}"]
    if timeout:
        cmd += ["--timeout", timeout]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return parse(out)
