"""Cat service: the adaptive testing engine (internal gRPC only; HTTP serves health and metrics)."""
from __future__ import annotations

from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.cat.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("cat", title="MegaCity CAT engine", description="The adaptive testing engine (internal gRPC only; HTTP serves health and metrics).")
    return ServiceRuntime(settings, app=app)
