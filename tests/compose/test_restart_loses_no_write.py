"""A service container killed mid-run (SIGKILL: no drain) and started again loses no write it had
acknowledged: a teacher keeps creating items through Traefik while exam dies; every item that
got its 201 is there afterwards, and writes succeed again once exam is healthy."""
from __future__ import annotations

import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.compose.conftest import Stack, World, wait_until
from tests.compose.test_platform_through_traefik import logistic_item


def test_killed_exam_loses_no_acknowledged_write(stack: Stack, world: World) -> None:
    teacher = world.teacher.token
    bank = stack.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": f"Crash {uuid.uuid4().hex[:6]}"})
    acked: list[str] = []
    failed = 0
    stop = threading.Event()
    lock = threading.Lock()

    def writer(worker: int) -> None:
        nonlocal failed
        n = 0
        while not stop.is_set():
            n += 1
            try:
                resp = stack.call("POST", "/api/v1/items", teacher, patient=False,
                                  json={"bank_id": bank["id"], **logistic_item(f"K{worker}-{n}", 0.1 * (n % 20), 1.1)})
            except httpx.HTTPError:
                resp = None
            with lock:
                if resp is not None and resp.status_code == 201:
                    acked.append(resp.json()["id"])
                else:
                    failed += 1
            if resp is None or resp.status_code != 201:
                time.sleep(0.5)  # exam down (502/503) or the edge's rate limit (429)

    container = stack.compose("ps", "-q", "exam").stdout.strip()
    assert container, "no exam container"

    def started_at() -> str:
        return subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", container], capture_output=True,
                              text=True, check=True, timeout=30).stdout.strip()

    first_start = started_at()
    with ThreadPoolExecutor(4) as pool:
        for worker in range(4):
            pool.submit(writer, worker)
        wait_until("writes before the kill", lambda: len(acked) >= 20, timeout=60, interval=0.2)
        before_kill = len(acked)
        stack.compose("kill", "-s", "SIGKILL", "exam")
        # `restart: unless-stopped` does not cover a kill by hand: start it as an operator would.
        stack.compose("up", "-d", "--wait", "--no-deps", "exam")
        after_restart = len(acked)
        wait_until("writes after the restart", lambda: len(acked) >= after_restart + 20, timeout=120, interval=0.2)
        stop.set()

    assert started_at() != first_start, "exam was not restarted"
    assert len(acked) > before_kill
    print(f"\n{len(acked)} items acknowledged, {failed} requests refused while exam was down")
    stored: set[str] = set()
    cursor: str | None = None
    while True:
        page = stack.ok("GET", "/api/v1/items", teacher,
                        params={"bank_id": bank["id"], "limit": 500, **({"cursor": cursor} if cursor else {})})
        stored |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged items are gone"
