"""Exam service: exams, item banks and items, attempts (fixed and adaptive through CAT),
scoring, reports and the org dashboard; the diagnostics probe."""
from __future__ import annotations

from megacity import job_progress
from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.exam import (
    analytics,
    attempts,
    exams,
    http_api,
    item_banks,
    item_import,
    items,
    reports,
)
from services.exam.maintenance import Maintenance, ensure_partitions
from services.exam.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("exam", title="MegaCity exam API",
                     description="Exams, item banks and items (IRT), attempts (fixed and adaptive through the CAT "
                                 "engine), scoring, student reports and the org dashboard; diagnostics probe.")
    app.include_router(http_api.router)
    # Static item paths first: /items/banks and /items/imports must not be taken for an item id.
    app.include_router(item_banks.router)
    app.include_router(item_import.router)
    app.include_router(items.router)
    app.include_router(exams.router)
    app.include_router(attempts.router)
    app.include_router(reports.router)
    app.include_router(analytics.router)
    app.include_router(job_progress.router)
    return ServiceRuntime(settings, app=app, outbox=True, on_start=[ensure_partitions],
                          workers=[lambda res: Maintenance(res, interval=settings.expiry_sweep_seconds)])
