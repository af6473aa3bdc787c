"""Fixtures for the inference tests: real models (loaded once per test session), real NATS and
Redis, real media (espeak-ng speech, scikit-image's astronaut photograph, an OpenCV video)."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import numpy as np
import pytest

from mcproto.inference.v1 import inference_pb2_grpc
from megacity.testing import NATS_URL, REDIS_URL, spoken_wav
from services.inference.main import build
from services.inference.models import ModelSet
from services.inference.settings import MODEL_NAMES, Settings

SENTENCE = "Please open your books and read the first chapter about the history of music."


def settings(namespace: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test", "http_port": 0, "grpc_port": 0, "redis_url": REDIS_URL, "nats_url": NATS_URL,
        "events_namespace": namespace, "redis_key_prefix": namespace, "utilisation_interval_seconds": 0.5,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def model_set() -> ModelSet:
    """One ModelSet for the whole session; each model loads the first time a test needs it."""
    return ModelSet(settings("tsession", models=",".join(MODEL_NAMES)))


@asynccontextmanager
async def inference_service(model_set: ModelSet, namespace: str, **overrides: object) -> AsyncIterator[object]:
    """The inference service in this process (like megacity.testing.run_service), reusing the
    session's loaded models."""
    s = settings(namespace, **overrides)
    model_set.load(s.model_set)
    runtime = build(s, models=model_set)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop(grace=2)


@asynccontextmanager
async def stub_for(runtime: object) -> AsyncIterator[inference_pb2_grpc.InferenceServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{runtime.grpc_port}") as channel:  # type: ignore[attr-defined]
        yield inference_pb2_grpc.InferenceServiceStub(channel)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech_wav(media_dir: Path) -> bytes:
    """SENTENCE spoken by espeak-ng, as WAV."""
    return spoken_wav(SENTENCE, media_dir / "sentence.wav")


@pytest.fixture(scope="session")
def astronaut_jpeg() -> bytes:
    import cv2
    from skimage import data

    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    return jpg.tobytes()


def make_video(path: Path, frames: int, fps: float = 25.0) -> Path:
    """An MP4 of the astronaut photograph drifting sideways (a person in every frame)."""
    import cv2
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    h, w = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), "OpenCV could not open an mp4v writer"
    for i in range(frames):
        shift = int(20 * np.sin(i / 8))
        writer.write(np.roll(image, shift, axis=1))
    writer.release()
    return path


@pytest.fixture(scope="session")
def short_video(media_dir: Path) -> bytes:
    return make_video(media_dir / "short.mp4", 20).read_bytes()


@pytest.fixture(scope="session")
def long_video(media_dir: Path) -> bytes:
    """Long enough (frame by frame) that a pose call is still running while a test acts."""
    return make_video(media_dir / "long.mp4", 300).read_bytes()


@pytest.fixture
def object_root(tmp_path: Path) -> Path:
    root = tmp_path / "objects"
    root.mkdir()
    return root


def put_object(root: Path, key: str, data: bytes) -> str:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"fs://{key}"


def new_id() -> str:
    return str(uuid.uuid4())


# -- queued jobs, as kzone publishes them -------------------------------------------------------
ZONE_ID = 6  # kzone-ai


async def publish_job(js, namespace: str, kind: str, *, job_id: str, org_id: str, input_ref: str,
                      params: dict | None = None, msg_id: str | None = None) -> str:
    import datetime as dt

    from megacity.events import envelope
    from megacity.events.streams import ensure_streams, events_stream, subject

    await ensure_streams(js, namespace)
    msg_id = msg_id or new_id()
    payload = {"job_id": job_id, "zone_id": ZONE_ID, "org_id": org_id, "kind": kind, "input_ref": input_ref,
               "params": params or {}}
    body = envelope.encode(event_id=msg_id, event_type=f"ai.job.{kind}", payload=payload, zone_id=ZONE_ID,
                           org_id=org_id, occurred_at=dt.datetime.now(dt.UTC))
    await js.publish(subject(namespace, f"ai.job.{kind}"), body, stream=events_stream(namespace),
                     headers={envelope.MSG_ID: msg_id})
    return msg_id


class ResultReader:
    """Reads every message on `<ns>.events.ai.result.>` (or the DLQ) from the start of the stream."""

    def __init__(self, js, namespace: str, dlq: bool = False) -> None:
        self.js, self.namespace, self.dlq = js, namespace, dlq
        self.sub = None
        self.seen: list[tuple[dict, object]] = []

    async def _bind(self) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        from megacity.events.streams import dlq_stream, ensure_streams, events_filter, events_stream

        if self.sub is not None:
            return
        await ensure_streams(self.js, self.namespace)
        name = f"test-{uuid.uuid4().hex[:8]}"
        stream = dlq_stream(self.namespace) if self.dlq else events_stream(self.namespace)
        subject = f"{self.namespace}.dlq.ai.>" if self.dlq else events_filter(self.namespace, "ai.result.>")
        await self.js.add_consumer(stream, ConsumerConfig(name=name, durable_name=name, filter_subject=subject,
                                                          ack_policy=AckPolicy.EXPLICIT,
                                                          deliver_policy=DeliverPolicy.ALL))
        self.sub = await self.js.pull_subscribe_bind(durable=name, stream=stream)

    async def poll(self, seconds: float) -> list[tuple[dict, object]]:
        """Everything that arrived within `seconds` (plus what came before)."""
        import time

        from megacity.events import envelope

        await self._bind()
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return self.seen
            try:
                msgs = await self.sub.fetch(10, timeout=min(left, 1.0))
            except TimeoutError:
                continue
            for msg in msgs:
                headers = dict(msg.headers or {})
                if self.dlq:
                    self.seen.append((headers, msg.data))
                else:
                    self.seen.append((headers, envelope.decode(msg.data, msg_id=headers.get(envelope.MSG_ID, ""),
                                                               subject=msg.subject, headers=headers, delivered=1)))
                await msg.ack()

    async def close(self) -> None:
        if self.sub is not None:
            sub, self.sub = self.sub, None
            try:
                await sub.unsubscribe()
            except Exception:  # noqa: BLE001 - the connection may be gone already
                pass

    async def wait_for(self, count: int, timeout: float) -> list[tuple[dict, object]]:
        import time

        end = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < end:
            await self.poll(min(1.0, max(0.1, end - time.monotonic())))
        assert len(self.seen) >= count, f"expected {count} message(s), got {len(self.seen)} in {timeout}s"
        return self.seen


@pytest.fixture
async def results(nats_client, namespace: str) -> AsyncIterator[object]:
    """`results()` / `results(dlq=True)`: readers closed before the NATS client drains."""
    readers: list[ResultReader] = []

    def make(dlq: bool = False) -> ResultReader:
        readers.append(ResultReader(nats_client.jetstream(), namespace, dlq=dlq))
        return readers[-1]

    yield make
    for reader in readers:
        await reader.close()
