"""GPU backends (faster-whisper large-v3 in float16, vLLM): run only where CUDA is visible
(`pytest -m gpu`); skipped elsewhere. Where CUDA is visible, a missing vLLM or a missing model
folder FAILS: a GPU node that cannot serve the GPU path must not pass. The models must already be
on the node (the GPU image carries them under /opt/models): nothing is downloaded at run time."""
from __future__ import annotations

import importlib.util

import pytest

from mcproto.inference.v1 import inference_pb2 as pb
from services.inference import hardware, scoring
from services.inference.models import ModelSet
from services.inference.tests.conftest import SENTENCE, inference_service, settings, stub_for

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(hardware.cuda_device_count() == 0, reason="needs a CUDA device"),
]


@pytest.fixture(scope="module")
def gpu_models() -> ModelSet:
    return ModelSet(settings("tgpu", device="cuda", models="stt,llm,embed"))


def test_auto_picks_cuda():
    assert hardware.resolve_device("auto") == "cuda"


async def test_large_v3_transcribes_on_the_gpu(gpu_models, namespace, speech_wav):
    async with inference_service(gpu_models, namespace, device="cuda", models="stt") as svc, stub_for(svc) as stub:
        reply = await stub.Transcribe(pb.TranscribeRequest(audio=speech_wav, language="en"), timeout=300)
    assert "large-v3" in reply.model and "cuda" in reply.model
    assert scoring.word_error_rate(SENTENCE, reply.text) <= 0.2


def test_vllm_is_installed_where_cuda_is():
    assert importlib.util.find_spec("vllm") is not None, \
        "CUDA is visible but vLLM is not installed: pip install -r requirements-gpu.txt (or use the GPU image)"


async def test_vllm_streams_tokens(gpu_models, namespace):
    async with inference_service(gpu_models, namespace, device="cuda", models="llm") as svc, stub_for(svc) as stub:
        chunks = [c async for c in stub.Generate(pb.GenerateRequest(prompt="The capital of France is",
                                                                    max_tokens=16), timeout=600)]
    assert chunks[-1].done and chunks[-1].completion_tokens > 0 and "vllm" in chunks[-1].model
    assert "".join(c.text for c in chunks[:-1]).strip()
