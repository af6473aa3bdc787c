"""Readiness while models load, the hard concurrency limit with its bounded queue, deadlines,
cancellation, and the metrics that show them. Asserted by order and outcome (which call was
refused while which still ran, whether a cancelled model finished its work), never by a
stopwatch; the waits' deadlines only bound a hang."""
from __future__ import annotations

import asyncio
import threading
import time

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from mcproto.inference.v1 import inference_pb2 as pb
from megacity.telemetry_testing import sample_value
from services.inference.main import build, inference_state
from services.inference.settings import Settings
from services.inference.tests.conftest import inference_service, settings, stub_for


async def _until(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _pose_frames() -> float:
    return sample_value("mc_inference_pose_frames_total", {"backend": "mediapipe"}) or 0.0


def _tokens() -> float:
    return sum(m.value for metric in REGISTRY.collect() if metric.name == "mc_inference_generated_tokens"
               for m in metric.samples if m.name == "mc_inference_generated_tokens_total")


def _code(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-error-code", "")


def test_llm_default_limit_is_five():
    s = Settings(environment="test")
    assert s.limits("llm") == (5, 10)


async def test_not_serving_until_models_are_loaded(model_set, namespace, monkeypatch):
    model_set.load(("pose",))
    release = threading.Event()
    original = model_set.load

    def slow_load(models=None):
        assert release.wait(30), "test never released the model load"
        original(models)

    monkeypatch.setattr(model_set, "load", slow_load)
    runtime = build(settings(namespace, models="pose"), models=model_set)
    starting = asyncio.create_task(runtime.start())
    try:
        await _until(lambda: runtime.grpc_port and runtime.http_port, what="servers to listen")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{runtime.grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            status = (await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)).status
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING
            async with httpx.AsyncClient() as http:
                assert (await http.get(f"http://127.0.0.1:{runtime.http_port}/readyz")).status_code == 503
            release.set()
            await asyncio.wait_for(starting, 60)
            status = (await health.Check(health_pb2.HealthCheckRequest(
                service="mcproto.inference.v1.InferenceService"), timeout=5)).status
            assert status == health_pb2.HealthCheckResponse.SERVING
            async with httpx.AsyncClient() as http:
                assert (await http.get(f"http://127.0.0.1:{runtime.http_port}/readyz")).status_code == 200
    finally:
        release.set()
        if not starting.done():
            await asyncio.wait_for(starting, 60)
        await runtime.stop(grace=2)


async def test_limit_queue_busy_cancel_and_deadline(model_set, namespace, long_video):
    """pose: 1 running + 1 waiting; the third call is refused at once; cancelling frees the slot
    (the model thread really stops); a call whose deadline passes in the queue gets 504."""
    request = pb.EstimatePoseRequest(media=long_video, media_type="video/mp4", max_frames=300)
    async with inference_service(model_set, namespace, models="pose", pose_max_concurrency=1, pose_max_queue=1,
                                 pose_max_frames=300) as svc, stub_for(svc) as stub:
        gate = inference_state(svc.app).gates["pose"]
        first = stub.EstimatePose(request, timeout=120)
        await _until(lambda: gate.in_flight == 1, what="the first call to run")
        second = stub.EstimatePose(request, timeout=120)
        await _until(lambda: gate.waiting == 1, what="the second call to queue")

        with pytest.raises(grpc.aio.AioRpcError) as busy:
            await stub.EstimatePose(request, timeout=30)
        assert busy.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert _code(busy.value) == "inference.busy"
        # Refused at once, not after waiting: the answer came while the first call still ran and
        # the second still waited (it never queued behind them).
        assert not first.done() and not second.done()
        assert (gate.in_flight, gate.waiting) == (1, 1)

        first.cancel()  # the client goes away: its slot goes to the queued call
        await _until(lambda: gate.waiting == 0 and gate.in_flight == 1, timeout=10, what="the queued call to start")
        with pytest.raises(asyncio.CancelledError):
            await first

        # A call whose deadline passes while it waits in the queue.
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await stub.EstimatePose(request, timeout=0.5)
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

        # Cancelled mid-video, the model stops between frames: it never finishes the video (a
        # finished video would count its frames), and the slot comes back only once it stopped.
        frames_before = _pose_frames()
        second.cancel()
        await _until(lambda: gate.in_flight == 0, timeout=60, what="the cancelled call to release its slot")
        with pytest.raises(asyncio.CancelledError):
            await second
        assert _pose_frames() == frames_before

        # A deadline that passes while the model runs ends the call and frees the slot.
        with pytest.raises(grpc.aio.AioRpcError) as running_late:
            await stub.EstimatePose(request, timeout=1.0)
        assert running_late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await _until(lambda: gate.in_flight == 0, timeout=10, what="the timed-out call to release its slot")

        # The slot is usable again.
        reply = await stub.EstimatePose(pb.EstimatePoseRequest(media=long_video, max_frames=2), timeout=60)
        assert len(reply.frames) == 2

        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{svc.http_port}/metrics")).text
    assert 'mc_inference_concurrency_limit{model="pose"} 1.0' in text
    assert sample_value("mc_inference_rejected_total", {"model": "pose", "reason": "busy"}) >= 1
    assert sample_value("mc_inference_model_seconds_count", {"model": "pose", "backend": "mediapipe"}) >= 1
    assert "mc_inference_queue_depth" in text and "mc_inference_in_flight" in text
    assert "mc_inference_cpu_utilisation_ratio" in text


async def test_generate_cancel_frees_the_llm_slot(model_set, namespace):
    # Raw token streaming (no answer_text cleaning): the first chunk comes at the first token
    # and the story does not end on its own before the cancel.
    async with inference_service(model_set, namespace, models="llm", llm_max_concurrency=1, llm_max_queue=0,
                                 llm_clean_output=False) as svc, stub_for(svc) as stub:
        gate = inference_state(svc.app).gates["llm"]
        tokens_before = _tokens()
        call = stub.Generate(pb.GenerateRequest(prompt="Once upon a time", max_tokens=400), timeout=120)
        first = await call.read()
        assert first.text
        with pytest.raises(grpc.aio.AioRpcError) as busy:
            await stub.Generate(pb.GenerateRequest(prompt="Hi", max_tokens=2), timeout=30).read()
        assert busy.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        call.cancel()
        await _until(lambda: gate.in_flight == 0, timeout=60, what="the LLM slot to be released")
        # Generation stopped at the cancel: far short of the 400 tokens asked for.
        assert _tokens() - tokens_before < 400
        chunks = [c async for c in stub.Generate(pb.GenerateRequest(prompt="Hi", max_tokens=2), timeout=60)]
        assert chunks[-1].done
