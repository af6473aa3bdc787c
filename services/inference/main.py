"""Inference service: GPU/CPU models: LLM, speech-to-text, pose, embeddings (internal gRPC only; HTTP serves health and metrics)."""
from __future__ import annotations

from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.inference.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("inference", title="MegaCity inference", description="GPU/CPU models: LLM, speech-to-text, pose, embeddings (internal gRPC only; HTTP serves health and metrics).")
    return ServiceRuntime(settings, app=app)
