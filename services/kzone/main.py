"""K-Zone service: K-content catalogue, media uploads and AI jobs (built on in the K-Zone issue)."""
from __future__ import annotations

from megacity import job_progress
from megacity.http_app import create_app
from megacity.runtime import ConsumerSpec, ServiceRuntime
from services.kzone import events, http_api
from services.kzone.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("kzone", title="MegaCity K-Zone API",
                     description="K-content catalogue, media uploads and AI jobs for my-ktube.com and my-ktube.ai.")
    app.include_router(http_api.router)
    app.include_router(job_progress.router)
    return ServiceRuntime(settings, app=app, outbox=True, consumers=[
        ConsumerSpec(durable="probes", event_types="diagnostics.probe.recorded", handler=events.on_probe_recorded)])
