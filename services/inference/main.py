"""Inference service: GPU/CPU models: LLM, speech-to-text, pose, embeddings (internal gRPC only;
HTTP serves health and metrics).

Start-up loads and warms up every model in INFERENCE_MODELS before the service reports ready
(gRPC health and /readyz stay NOT_SERVING until then); the job consumers start after that.
"""
from __future__ import annotations

from megacity.http_app import create_app
from megacity.runtime import Resources, ServiceRuntime
from services.inference import grpc_api
from services.inference.jobs import JobWorker
from services.inference.models import InferenceState, ModelSet
from services.inference.objects import ObjectStore
from services.inference.settings import Settings


def build(settings: Settings | None = None, models: ModelSet | None = None) -> ServiceRuntime:
    """`models`: an already loaded ModelSet to reuse (tests load each model once per session)."""
    settings = settings or Settings()
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
    runtime.inference = state  # type: ignore[attr-defined]
    return runtime
