"""The models this replica serves: chosen by INFERENCE_MODELS and the device, loaded once at
start-up and warmed up before the service reports ready.

`ModelSet` holds loaded backends only (plain objects, usable from any thread or event loop);
`InferenceState` adds what belongs to one running service: the concurrency gates, the
utilisation sampler, and the helper every RPC and job goes through (`call`).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from megacity.errors import AppError
from megacity.telemetry.logs import get_logger
from services.inference import hardware, metrics
from services.inference.gate import Cancelled, CancelToken, ModelGate, deadline_exceeded, time_left
from services.inference.settings import InferenceSettings

log = get_logger("inference.models")
T = TypeVar("T")


def _factory(model: str) -> Callable[[InferenceSettings, str, int], Any]:
    if model == "stt":
        from services.inference.backends.speech import SpeechBackend

        return SpeechBackend
    if model == "pose":
        from services.inference.backends.pose import PoseBackend

        return PoseBackend
    if model == "llm":
        from services.inference.backends.llm import make_llm

        return make_llm
    if model == "embed":
        from services.inference.backends.embed import EmbedBackend

        return EmbedBackend
    raise ValueError(f"unknown model {model!r}")


def load_order(models: tuple[str, ...], device: str) -> tuple[str, ...]:
    """On CUDA vLLM goes first: it checks free memory against its share of the card at start
    and starts its engine process before CTranslate2/torch open CUDA contexts here (it spawns
    anyway: VLLM_WORKER_MULTIPROC_METHOD=spawn)."""
    if device == "cuda" and "llm" in models:
        return ("llm", *(m for m in models if m != "llm"))
    return tuple(models)


class ModelSet:
    def __init__(self, settings: InferenceSettings) -> None:
        self.settings = settings
        hardware.offline_environment()
        self.device = hardware.resolve_device(settings.device)
        self.threads = hardware.cpu_threads(settings.cpu_threads)
        self.backends: dict[str, Any] = {}
        self.load_seconds: dict[str, float] = {}

    @property
    def loaded(self) -> bool:
        return set(self.backends) >= set(self.settings.model_set)

    def load(self, models: tuple[str, ...] | None = None) -> None:
        """Load and warm up every configured model (or those named) not loaded yet (blocking)."""
        for model in load_order(tuple(models or self.settings.model_set), self.device):
            if model in self.backends:
                continue
            started = time.perf_counter()
            backend = _factory(model)(self.settings, self.device, self.threads)
            backend.load()
            backend.warm_up()
            self.load_seconds[model] = time.perf_counter() - started
            self.backends[model] = backend
            metrics.MODEL_LOADED.labels(model, backend.backend, backend.device).set(1)
            metrics.MODEL_LOAD_SECONDS.labels(model).set(self.load_seconds[model])
            log.info("model ready", model=model, backend=backend.description,
                     seconds=round(self.load_seconds[model], 2))

    def get(self, model: str) -> Any:
        backend = self.backends.get(model)
        if backend is None:
            raise AppError(501, "inference.model_disabled",
                           f"this inference replica does not serve the {model} model (INFERENCE_MODELS)")
        return backend


class InferenceState:
    """Per running service: models, gates and utilisation sampling."""

    def __init__(self, settings: InferenceSettings, models: ModelSet | None = None) -> None:
        self.settings = settings
        self.models = models or ModelSet(settings)
        self.gates = {m: ModelGate(m, *settings.limits(m, self.models.device)) for m in settings.model_set}
        self.sampler = hardware.UtilisationSampler(settings.utilisation_interval_seconds)
        # Why the service must stop and be restarted (a dead vLLM engine), or "" while healthy.
        self.fatal = ""
        self.on_fatal: Callable[[str], None] | None = None  # main.build: NOT_SERVING, then exit
        self._health: asyncio.Task[None] | None = None

    def report_fatal(self, reason: str) -> None:
        if self.fatal:
            return
        self.fatal = reason
        log.error("inference replica is no longer able to serve", reason=reason)
        if self.on_fatal is not None:
            self.on_fatal(reason)

    async def start(self) -> None:
        """The runtime's on_start hook: models load before the service reports ready."""
        await asyncio.to_thread(self.models.load, self.settings.model_set)
        for backend in self.models.backends.values():
            if hasattr(backend, "on_fatal"):
                backend.on_fatal = self.report_fatal
            warm = getattr(backend, "warm_up_async", None)
            if warm is not None:
                await warm()
        self.sampler.start()
        if any(hasattr(b, "check_health") for b in self.models.backends.values()):
            self._health = asyncio.get_running_loop().create_task(self._watch_health(), name="inference-health")

    async def check_health(self) -> None:
        """Ask every backend that can tell (vLLM's engine); a dead one reports itself fatal."""
        for backend in list(self.models.backends.values()):
            check = getattr(backend, "check_health", None)
            if check is not None:
                await check()

    async def _watch_health(self) -> None:
        while not self.fatal:
            await asyncio.sleep(self.settings.llm_health_interval_seconds)
            try:
                await self.check_health()
            except Exception as exc:  # noqa: BLE001 - fatal ones were reported by the backend
                log.warning("health check failed", error=str(exc))

    def backend(self, model: str) -> Any:
        if model not in self.gates:
            raise AppError(501, "inference.model_disabled",
                           f"this inference replica does not serve the {model} model (INFERENCE_MODELS)")
        return self.models.get(model)

    def gate(self, model: str) -> ModelGate:
        self.backend(model)
        return self.gates[model]

    async def call(self, model: str, fn: Callable[..., T], *args: Any, deadline: float | None = None,
                   bounded: bool = True) -> T:
        """Run `fn(*args, token)` under the model's limit, in its thread pool, within `deadline`
        (a time.monotonic() value); map a cancellation caused by the deadline to 504."""
        gate = self.gate(model)
        token = CancelToken(deadline)
        async with gate.slot(time_left(deadline), bounded=bounded):
            started = time.perf_counter()
            try:
                return await gate.run(fn, *args, token, token=token)
            except Cancelled:
                if token.reason == "deadline":
                    raise deadline_exceeded(model) from None
                raise AppError(499, "inference.cancelled", "the call was cancelled") from None
            finally:
                metrics.MODEL_LATENCY.labels(model, self.models.backends[model].backend).observe(
                    time.perf_counter() - started)

    def stop(self) -> None:
        if self._health is not None:
            self._health.cancel()
            self._health = None
        self.sampler.stop()
        for gate in self.gates.values():
            gate.shutdown()
