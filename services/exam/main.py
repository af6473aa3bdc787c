"""Exam service: exams, item banks and items, attempts (fixed and adaptive through CAT),
scoring, reports and the org dashboard; the diagnostics probe. One package per feature
(routes / service / queries / schemas); see the README's "Features → files"."""
from __future__ import annotations

from megacity import job_progress
from megacity.http_app import create_app
from megacity.retention import outbox_worker
from megacity.runtime import ServiceRuntime
from services.exam.analytics.routes import router as analytics
from services.exam.attempt_lists.routes import router as attempt_lists
from services.exam.attempts.routes import router as attempts
from services.exam.diagnostics.routes import router as diagnostics
from services.exam.exams.routes import router as exams
from services.exam.item_banks.routes import router as item_banks
from services.exam.item_import.routes import router as item_import
from services.exam.items.routes import router as items
from services.exam.maintenance import Maintenance, ensure_partitions
from services.exam.reports.routes import router as reports
from services.exam.settings import ExamSettings, Settings


def build(settings: ExamSettings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("exam", title="MegaCity exam API",
                     description="Exams, item banks and items (IRT), attempts (fixed and adaptive through the CAT "
                                 "engine), scoring, student reports and the org dashboard; diagnostics probe.")
    app.include_router(diagnostics)
    # Static item paths first: /items/banks and /items/imports must not be taken for an item id.
    app.include_router(item_banks)
    app.include_router(item_import)
    app.include_router(items)
    app.include_router(exams)
    app.include_router(attempts)
    app.include_router(attempt_lists)
    app.include_router(reports)
    app.include_router(analytics)
    app.include_router(job_progress.router)
    return ServiceRuntime(settings, app=app, outbox=True, on_start=[ensure_partitions],
                          workers=[lambda res: Maintenance(res, interval=settings.expiry_sweep_seconds),
                                   lambda res: outbox_worker(res, "exam")])
