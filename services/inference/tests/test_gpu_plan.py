"""The GPU path on the CPU: memory budget per card, load order and spawn, the gate's admission
for vLLM, the vLLM backend's use of the engine (chat template, DELTA streaming, abort on cancel,
too-long prompts, a dead engine) on a fake engine with vLLM's async interface, whisper's CUDA
out-of-memory and the embeddings' device. The real engine runs in test_gpu.py (`-m gpu`)."""
from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from megacity.errors import AppError
from services.inference import gpu_memory, hardware
from services.inference.backends.llm import Finish, GenerateParams, VllmLLM
from services.inference.backends.speech import SpeechBackend, check_model_dir
from services.inference.gate import CancelToken, ModelGate
from services.inference.models import load_order
from services.inference.settings import Settings
from services.inference.tests.fake_vllm import FakeEngine, sampling

README = Path(__file__).resolve().parents[1] / "README.md"
GIB = gpu_memory.GIB


def gpu_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"environment": "test", "http_port": 0, "grpc_port": 0, "device": "cpu"}
    values.update(overrides)
    return Settings(**values)


def budget(total_gib: float, **overrides: object) -> gpu_memory.MemoryPlan:
    s = gpu_settings()
    kwargs: dict[str, object] = dict(llm_weights_gib=s.llm_gpu_weights_gib, kv_bytes_per_token=s.llm_kv_bytes_per_token,
                                     max_model_len=s.llm_max_model_len, max_num_seqs=s.llm_max_num_seqs)
    kwargs.update(overrides)
    return gpu_memory.plan(int(total_gib * GIB), **kwargs)  # type: ignore[arg-type]


# -- memory budget -------------------------------------------------------------------------------
@pytest.mark.parametrize("card", [24, 48, 80])
def test_budget_fits_every_card_with_whisper_and_embeddings(card):
    p = budget(card)
    others = p.whisper_gib + p.embed_gib + gpu_memory.PROCESS_CONTEXT_GIB + gpu_memory.SAFETY_GIB
    assert p.vllm_gib + others <= card + 1e-6  # vLLM's share leaves the others their memory
    assert p.kv_cache_gib >= 2 * 8192 * 139264 / GIB - 0.01  # two full-length sequences at least
    assert p.max_full_length_seqs >= 2
    assert 0 < p.gpu_memory_utilization < 0.85


def test_budget_on_80_gb_does_not_reserve_50_gb_of_kv_cache():
    p80, p48 = budget(80), budget(48)
    assert p80.kv_cache_gib < 20  # what 64 streams of ~2k tokens use, not "85 % of the card"
    assert p80.kv_cache_gib == p48.kv_cache_gib  # more card, same need: the rest stays free
    assert p80.gpu_memory_utilization < 0.4


def test_int8_whisper_leaves_more_kv_cache_on_a_24_gb_card():
    assert budget(24, stt_compute_type="int8_float16").kv_cache_gib > budget(24).kv_cache_gib


def test_a_7b_bf16_model_beside_large_v3_does_not_fit_24_gb():
    with pytest.raises(gpu_memory.MemoryPlanError, match="24 GiB card cannot hold"):
        budget(24, llm_weights_gib=15.2, kv_bytes_per_token=57344)


def test_readme_table_is_the_computed_budget():
    s = gpu_settings()
    table = gpu_memory.budget_table(llm_weights_gib=s.llm_gpu_weights_gib, kv_bytes_per_token=s.llm_kv_bytes_per_token,
                                    max_model_len=s.llm_max_model_len, max_num_seqs=s.llm_max_num_seqs)
    assert table in README.read_text(), "README's memory table is stale: python -m services.inference.gpu_memory"


def test_engine_arguments_come_from_the_budget():
    llm = VllmLLM(gpu_settings(), "cuda", 1, engine=FakeEngine())
    kwargs = llm.engine_kwargs(24 * GIB)
    assert kwargs["gpu_memory_utilization"] == budget(24).gpu_memory_utilization
    assert kwargs["kv_cache_memory_bytes"] == int(budget(24).kv_cache_gib * GIB)
    assert kwargs["max_num_seqs"] == 64 and kwargs["model"] == "/opt/models/llm"
    override = VllmLLM(gpu_settings(llm_gpu_memory_utilization=0.5), "cuda", 1).engine_kwargs(24 * GIB)
    assert override["gpu_memory_utilization"] == 0.5 and "kv_cache_memory_bytes" not in override


# -- start-up order, spawn, offline ------------------------------------------------------------
def test_vllm_loads_first_on_cuda_only():
    assert load_order(("stt", "pose", "llm", "embed"), "cuda") == ("llm", "stt", "pose", "embed")
    assert load_order(("stt", "pose", "llm", "embed"), "cpu") == ("stt", "pose", "llm", "embed")
    assert load_order(("stt", "embed"), "cuda") == ("stt", "embed")


def test_vllm_load_sets_spawn_and_offline(monkeypatch):
    monkeypatch.delenv("VLLM_WORKER_MULTIPROC_METHOD", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    VllmLLM(gpu_settings(), "cuda", 1, engine=FakeEngine()).load()
    assert os.environ["VLLM_WORKER_MULTIPROC_METHOD"] == "spawn"
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_gpu_models_are_image_folders_not_hub_ids():
    s = gpu_settings()
    assert s.llm_gpu_model == "/opt/models/llm" and s.stt_gpu_model == "/opt/models/whisper-large-v3"
    assert SpeechBackend(s, "cuda", 1).model_ref == "/opt/models/whisper-large-v3"


def test_vllm_without_its_model_folder_fails_with_a_reason(tmp_path):
    with pytest.raises(RuntimeError, match="nothing is downloaded at run time"):
        VllmLLM(gpu_settings(llm_gpu_model=str(tmp_path / "llm")), "cuda", 1).load()


def test_large_v3_folder_needs_its_preprocessor_config(tmp_path):
    folder = tmp_path / "whisper-large-v3"
    folder.mkdir()
    with pytest.raises(RuntimeError, match="no CTranslate2 whisper model"):
        check_model_dir(folder)
    (folder / "model.bin").write_bytes(b"x")
    with pytest.raises(RuntimeError, match="128 mel bins"):
        check_model_dir(folder)
    (folder / "preprocessor_config.json").write_text('{"feature_size": 128}')
    check_model_dir(folder)


# -- the gate for vLLM: admission, not throttling ---------------------------------------------------
def test_vllm_gate_bounds_admission_not_batching():
    s = gpu_settings()
    assert s.limits("llm", "cpu") == (5, 10)
    assert s.limits("llm", "cuda") == (128, 64)
    assert s.limits("stt", "cuda") == s.limits("stt", "cpu")


async def until(condition: Callable[[], bool], steps: int = 10_000) -> None:
    """Let the other tasks run until `condition` holds (by order of events, not by time)."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def _consume(llm: VllmLLM, params: GenerateParams, token: CancelToken | None = None) -> list[object]:
    return [piece async for piece in llm.stream(params, token or CancelToken(), None)]


async def test_admitted_streams_all_reach_the_engine_which_batches_them():
    """16 streams through a gate with vLLM's limits: all 16 are inside the engine at once (the
    old gate let 5 through), and the engine's scheduler runs max_num_seqs of them."""
    engine = FakeEngine(max_num_seqs=8, hold_first_token=True)
    llm = VllmLLM(gpu_settings(), "cuda", 1, engine=engine, sampling=sampling)
    gate = ModelGate("llm-test", *gpu_settings().limits("llm", "cuda"))

    async def one() -> list[object]:
        async with gate.slot():
            return await _consume(llm, GenerateParams("say hi", 4))

    tasks = [asyncio.create_task(one()) for _ in range(16)]
    await until(lambda: engine.admitted == 16)
    assert gate.in_flight == 16 and gate.waiting == 0
    assert engine.running == 8  # the other 8 wait in vLLM's queue, not in ours
    engine.release.set()
    results = await asyncio.gather(*tasks)
    assert all(isinstance(r[-1], Finish) and r[-1].completion_tokens == 4 for r in results)
    assert engine.max_running == 8 and engine.max_admitted == 16
    gate.shutdown()


async def test_beyond_admission_and_queue_is_busy():
    gate = ModelGate("llm-test-busy", 2, 1)
    held = asyncio.Event()

    async def hold() -> None:
        async with gate.slot():
            await held.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(3)]  # 2 admitted, 1 waiting
    await until(lambda: gate.in_flight == 2 and gate.waiting == 1)
    with pytest.raises(AppError) as err:
        async with gate.slot():
            pass
    assert err.value.status == 429 and err.value.code == "inference.busy"
    held.set()
    await asyncio.gather(*tasks)
    gate.shutdown()


# -- vLLM API use on the fake engine -----------------------------------------------------------------
async def test_chat_template_and_delta_streaming():
    engine = FakeEngine()
    llm = VllmLLM(gpu_settings(), "cuda", 1, engine=engine, sampling=sampling)
    pieces = await _consume(llm, GenerateParams("What is a verb?", 5, temperature=0.7, top_p=0.9))
    call = engine.tokenizer.template_calls[0]
    assert call["add_generation_prompt"] is True and call["tokenize"] is False
    assert call["messages"] == [{"role": "user", "content": "What is a verb?"}]
    assert engine.prompts[0].endswith("<start_of_turn>model\n")
    assert engine.params[0].output_kind == "DELTA" and engine.params[0].max_tokens == 5
    assert pieces[:-1] == [" w0", " w1", " w2", " w3", " w4"]  # each delta once, nothing repeated
    assert pieces[-1] == Finish("length", 5)
    assert engine.aborted == []  # a finished request is not aborted


async def test_chat_template_can_be_turned_off():
    engine = FakeEngine()
    llm = VllmLLM(gpu_settings(llm_chat_template=False), "cuda", 1, engine=engine, sampling=sampling)
    await _consume(llm, GenerateParams("The capital of France is", 2))
    assert engine.prompts == ["The capital of France is"]


async def test_prompt_over_the_context_is_invalid_argument_before_the_engine():
    engine = FakeEngine()
    llm = VllmLLM(gpu_settings(llm_max_model_len=64), "cuda", 1, engine=engine, sampling=sampling)
    with pytest.raises(AppError) as err:
        await _consume(llm, GenerateParams("word " * 60, 16))
    assert err.value.status == 400 and err.value.code == "inference.prompt_too_long"
    assert engine.prompts == []


async def test_engine_refusing_a_long_prompt_is_invalid_argument():
    engine = FakeEngine(too_long_at=3)
    llm = VllmLLM(gpu_settings(llm_chat_template=False), "cuda", 1, engine=engine, sampling=sampling)
    with pytest.raises(AppError) as err:
        await _consume(llm, GenerateParams("one two three four five", 4))
    assert err.value.status == 400 and err.value.code == "inference.prompt_too_long"


async def test_client_cancel_while_queued_aborts_the_request():
    engine = FakeEngine(hold_first_token=True)
    llm = VllmLLM(gpu_settings(), "cuda", 1, engine=engine, sampling=sampling)
    task = asyncio.create_task(_consume(llm, GenerateParams("hello", 8)))
    await until(lambda: engine.first_token_waiting == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(engine.aborted) == 1 and engine.closed == engine.aborted  # generator closed, request aborted
    assert engine.admitted == 0


async def test_consumer_stopping_mid_stream_closes_and_aborts():
    engine = FakeEngine()
    llm = VllmLLM(gpu_settings(), "cuda", 1, engine=engine, sampling=sampling)
    stream = llm.stream(GenerateParams("hello", 50), CancelToken(), None)
    assert await anext(stream) == " w0"
    await stream.aclose()  # grpc cancelled the RPC: the servicer's generator is closed
    assert len(engine.aborted) == 1 and engine.closed == engine.aborted


async def test_deadline_while_prefilling_finishes_as_deadline_and_aborts():
    engine = FakeEngine(hold_first_token=True)
    llm = VllmLLM(gpu_settings(), "cuda", 1, engine=engine, sampling=sampling)
    pieces = await _consume(llm, GenerateParams("hello", 8), CancelToken(time.monotonic() + 0.05))
    assert pieces == [Finish("deadline", 0)]
    assert len(engine.aborted) == 1


async def test_engine_dead_is_unavailable_and_fatal():
    engine = FakeEngine()
    llm = VllmLLM(gpu_settings(), "cuda", 1, engine=engine, sampling=sampling)
    reasons: list[str] = []
    llm.on_fatal = reasons.append
    await _consume(llm, GenerateParams("hello", 2))
    await llm.check_health()
    engine.dead = True
    with pytest.raises(AppError) as err:
        await _consume(llm, GenerateParams("hello", 2))
    assert err.value.status == 503 and err.value.code == "inference.engine_dead"
    with pytest.raises(AppError):
        await llm.check_health()
    assert len(reasons) == 2 and all(re.search("engine dead", r) for r in reasons)


# -- whisper out of GPU memory, embeddings' device -------------------------------------------------
class _OutOfMemoryWhisper:
    def transcribe(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("CUDA failed with error out of memory")


def test_whisper_cuda_out_of_memory_is_resource_exhausted():
    backend = SpeechBackend(gpu_settings(), "cuda", 1)
    backend._model = _OutOfMemoryWhisper()
    with pytest.raises(AppError) as err:
        backend.transcribe(b"", "en", CancelToken())  # type: ignore[arg-type]
    assert err.value.status == 429 and err.value.code == "inference.gpu_out_of_memory"


def test_embeddings_device_follows_torch_not_ctranslate2(monkeypatch):
    monkeypatch.setattr(hardware, "torch_cuda_available", lambda: False)
    assert hardware.torch_device("cuda", "auto") == "cpu"
    assert hardware.torch_device("cpu", "auto") == "cpu"
    with pytest.raises(RuntimeError, match="torch has no CUDA"):
        hardware.torch_device("cuda", "cuda")
    monkeypatch.setattr(hardware, "torch_cuda_available", lambda: True)
    assert hardware.torch_device("cuda", "auto") == "cuda"
