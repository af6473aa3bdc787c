"""Inference service: GPU/CPU models: LLM, speech-to-text, pose, embeddings (internal gRPC only;
HTTP serves health and metrics).

Start-up loads and warms up every model in INFERENCE_MODELS before the service reports ready
(gRPC health and /readyz stay NOT_SERVING until then); the job consumers start after that.
The service's typed state (`InferenceState`: settings, models, gates) is made once here and
handed to everything that needs it; `inference_state(app)` reads it back, typed.
"""
from __future__ import annotations

import asyncio
import os
import signal

from fastapi import FastAPI

from megacity.http_app import create_app
from megacity.runtime import Resources, ServiceRuntime
from services.inference import grpc_api
from services.inference.jobs import JobWorker
from services.inference.models import InferenceState, ModelSet
from services.inference.objects import ObjectStore
from services.inference.settings import InferenceSettings, Settings


def load_settings() -> InferenceSettings:
    """INFERENCE_* variables, as the typed settings the rest of the service reads."""
    settings = Settings()
    if not isinstance(settings, InferenceSettings):
        raise TypeError("services.inference.settings.Settings must build InferenceSettings")
    return settings


def inference_state(app: FastAPI) -> InferenceState:
    """The state `build` gave this app."""
    state = app.state.inference
    if not isinstance(state, InferenceState):
        raise TypeError("not an inference app")
    return state


EXIT_FATAL = 70  # the process's exit status after a fatal model failure (k8s restarts it)


def build(settings: InferenceSettings | None = None, models: ModelSet | None = None, *,
          exit_on_fatal: bool = False) -> ServiceRuntime:
    """`models`: an already loaded ModelSet to reuse (tests load each model once per session).

    A fatal model failure (vLLM's engine died: EngineDeadError from a call or from the periodic
    `check_health`) flips gRPC health and /readyz to NOT_SERVING at once; with `exit_on_fatal`
    (`python -m services.inference`) the process then drains like on SIGTERM and exits with
    status 70, to be restarted with a fresh engine."""
    settings = settings or load_settings()
    state = InferenceState(settings, models)
    store = ObjectStore(settings)
    app = create_app("inference", title="MegaCity inference",
                     description="GPU/CPU models: LLM, speech-to-text, pose, embeddings "
                                 "(internal gRPC only; HTTP serves health and metrics).")
    app.state.inference = state

    async def load_models(res: Resources) -> None:
        await state.start()

    async def release(res: Resources) -> None:
        state.stop()

    runtime = ServiceRuntime(
        settings, app=app,
        grpc_registrars=[grpc_api.registrar(state)],
        grpc_service_names=[grpc_api.SERVICE_NAME],
        on_start=[load_models],
        workers=[lambda res: JobWorker(res, state, store)],
        on_stop=[release],
    )

    async def stop_serving() -> None:
        app.state.ready = False
        if runtime.grpc is not None:
            await runtime.grpc.set_serving(False)
        if exit_on_fatal:
            os.kill(os.getpid(), signal.SIGTERM)  # ServiceRuntime.serve drains and returns

    def on_fatal(reason: str) -> None:
        task = asyncio.get_running_loop().create_task(stop_serving(), name="inference-fatal")
        fatal_tasks.add(task)
        task.add_done_callback(fatal_tasks.discard)

    fatal_tasks: set[asyncio.Task[None]] = set()
    state.on_fatal = on_fatal
    return runtime
