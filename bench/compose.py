"""Compose: how long the local stack (every image built here, no registry) takes to build and
come up — `scripts/compose_stack.py up` timed step by step, then torn down. Run warm: the base
image, the wheelhouse and BuildKit's cache from an earlier build are kept (what a developer and
a second CI run see); the cold figures (empty image store) are quoted from a measured run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = ROOT / ".state" / "compose" / "timings.json"
STEPS = ("dockerd", "base image", "wheelhouse", "build", "up --wait")
# Measured at 9ba58c3 on this 2-core machine with an empty image store and build cache.
COLD = {"base image": 153, "wheelhouse": 152, "build": 251, "up --wait": 94}


def run() -> str:
    script = [sys.executable, str(ROOT / "scripts" / "compose_stack.py")]
    TIMINGS.unlink(missing_ok=True)
    subprocess.run([*script, "up"], check=True, cwd=ROOT)
    try:
        warm = json.loads(TIMINGS.read_text())
    finally:
        subprocess.run([*script, "down"], check=False, cwd=ROOT)
    rows = "\n".join(f"| {name} | {warm.get(name, 0):.0f} | {COLD.get(name, '—')} |" for name in STEPS)
    total = sum(float(warm.get(name, 0)) for name in STEPS)
    return f"""## Compose: build and `up --wait` of the local stack (issue #11)

`make compose-up` (`scripts/compose_stack.py up`): dockerd, the Debian base image (mmdebstrap +
docker import), the host-built wheelhouse, `docker compose build` of every image of
`docker-compose.yml` + `deploy/compose.local.yml`, then `up -d --wait` until every healthcheck
passes (fresh volumes: migrations, NATS streams and buckets are made on the way). Same machine
({os.cpu_count()} cores), seconds.

| step | warm (this run) | cold (empty image store) |
|---|---|---|
{rows}

**Warm: {total:.0f} s from nothing running to a healthy stack.** Cold, the first build on a machine
adds the base image, the wheelhouse and every layer: about {sum(COLD.values()) / 60:.0f} min. The integration suite
itself (`make compose-test`) then takes about 80 s and `down -v` about 20 s.
"""
