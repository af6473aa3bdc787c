"""Kill the inference service (SIGKILL) while a job is in flight: JetStream redelivers the job
to a restarted service after ack_wait, and exactly one result is published."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from megacity.job_progress import JobProgress
from megacity.redis_keys import RedisKeys
from megacity.testing import NATS_URL, REDIS_URL
from services.inference.tests.conftest import ZONE_ID, new_id, publish_job, put_object

ROOT = Path(__file__).resolve().parents[3]


def _start(namespace: str, object_root: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'libs'}",
        "INFERENCE_ENVIRONMENT": "test", "INFERENCE_HTTP_PORT": "0", "INFERENCE_GRPC_PORT": "0",
        "INFERENCE_NATS_URL": NATS_URL, "INFERENCE_REDIS_URL": REDIS_URL,
        "INFERENCE_EVENTS_NAMESPACE": namespace, "INFERENCE_REDIS_KEY_PREFIX": namespace,
        "INFERENCE_MODELS": "pose", "INFERENCE_OBJECT_ROOT": str(object_root),
        "INFERENCE_JOB_ACK_WAIT_SECONDS": "3", "INFERENCE_POSE_MAX_FRAMES": "300",
    }
    out = open(log, "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen([sys.executable, "-m", "services.inference"], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT)


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"service exited ({proc.returncode}) before {what}:\n{_tail(log)}")
        await asyncio.sleep(0.1)
    tail = _tail(log) if log else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


@pytest.mark.slow
async def test_sigkill_mid_job_redelivers_and_publishes_one_result(
        namespace, nats_client, results, redis_client, tmp_path, long_video):
    js = nats_client.jetstream()
    object_root = tmp_path / "objects"
    org_id, job_id = new_id(), new_id()
    video = put_object(object_root, f"kzone/video/{job_id}/original.mp4", long_video)
    progress = JobProgress(redis_client, RedisKeys(namespace))
    await progress.create(ZONE_ID, org_id, job_id, kind="pose", owner=new_id())
    await publish_job(js, namespace, "pose", job_id=job_id, org_id=org_id, input_ref=video,
                      params={"max_frames": 300})
    reader = results()
    log = tmp_path / "inference.log"

    async def step():
        state = await progress.get(ZONE_ID, org_id, job_id)
        return state and state.get("step") == "estimating"

    first = _start(namespace, object_root, log)
    try:
        await _wait(step, 120, "the first service to start the job", first, log)
        await asyncio.sleep(0.5)  # the model is mid-video now
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert await reader.poll(1) == []  # killed before it could answer

    second = _start(namespace, object_root, log)
    try:
        async def one_result():
            return await reader.poll(0.5)

        [(headers, event)] = await _wait(one_result, 180, "the restarted service to publish the result", second, log)
        await reader.poll(4)  # nothing else arrives
        state = await progress.get(ZONE_ID, org_id, job_id)
    finally:
        second.send_signal(signal.SIGTERM)  # graceful drain
        try:
            second.wait(30)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait(10)
    assert len(reader.seen) == 1
    assert headers["Nats-Msg-Id"] == f"{job_id}:result"
    payload = event.payload
    assert payload["status"] == "succeeded" and payload["attempt"] == 2  # the redelivery did it
    assert payload["result"]["frames"] == 300 and payload["result"]["detected_frames"] >= 290
    assert (object_root / f"kzone/pose/{job_id}/keypoints.json").is_file()
    assert state["step"] == "publishing"
    assert second.returncode == 0, log.read_text()[-3000:]
