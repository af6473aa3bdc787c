"""Exam service: exams, items, attempts, scoring and reports (built on in the exam issue)."""
from __future__ import annotations

from megacity import job_progress
from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.exam import http_api
from services.exam.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("exam", title="MegaCity exam API",
                     description="Exams, items, attempts, scoring and reports; diagnostics probe.")
    app.include_router(http_api.router)
    app.include_router(job_progress.router)
    return ServiceRuntime(settings, app=app, outbox=True)
