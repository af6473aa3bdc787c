"""K-Zone service: K-content catalogue, media uploads to object storage, and AI jobs (voice
analysis, dance pose detection, tutor feedback) run by the inference service over JetStream,
with Redis-only progress (shared /api/v1/jobs router) and results in PostgreSQL."""
from __future__ import annotations

from megacity import job_progress
from megacity.db import after_commit
from megacity.http_app import create_app
from megacity.retention import RetentionWorker
from megacity.runtime import ConsumerSpec, Resources, ServiceRuntime
from services.kzone import events
from services.kzone.ai_jobs import routes as ai_jobs
from services.kzone.catalogue import routes as catalogue
from services.kzone.mesh_probes import routes as mesh_probes
from services.kzone.objects import routes as objects
from services.kzone.retention import service as retention
from services.kzone.service_state import KzoneState
from services.kzone.settings import KzoneSettings, Settings
from services.kzone.storage import make_storage
from services.kzone.storage.buckets import ensure_zone_buckets
from services.kzone.tutor import routes as tutor
from services.kzone.uploads import routes as uploads


def build(settings: KzoneSettings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("kzone", title="MegaCity K-Zone API",
                     description="K-content catalogue, media uploads and AI jobs (voice analysis, dance pose "
                                 "detection, tutor feedback) for my-ktube.com and my-ktube.ai. Job progress is "
                                 "served from Redis only (`/api/v1/jobs/{id}/progress`, `/events`); job detail "
                                 "and results from PostgreSQL. Permissions: see services/kzone/permissions.py.")
    state = KzoneState(settings=settings, storage=make_storage(settings))
    app.state.kzone = state
    # The progress router first: it takes the polling traffic, and routes are matched in order.
    for router in (job_progress.router, ai_jobs.router, catalogue.router, uploads.router, objects.router,
                   mesh_probes.router, tutor.router):
        app.include_router(router)

    async def storage_ready(_: Resources) -> None:
        await state.storage.ensure_ready()
        await ensure_zone_buckets(state.storage)  # static-<zone> of every registry zone

    async def finish_progress_updates(_: Resources) -> None:
        await after_commit.drain()  # before Redis closes: progress of just-committed results

    def retention_worker(res: Resources) -> RetentionWorker:
        return RetentionWorker(lambda: retention.run_retention(res, state), service="kzone",
                               interval=state.settings.retention_interval_seconds)

    return ServiceRuntime(settings, app=app, outbox=True, on_start=[storage_ready],
                          on_stop=[finish_progress_updates], workers=[retention_worker], consumers=[
        ConsumerSpec(durable="probes", event_types="diagnostics.probe.recorded", handler=events.on_probe_recorded),
        ConsumerSpec(durable="ai-results", event_types="ai.result.*", handler=events.make_result_handler(state)),
    ])
