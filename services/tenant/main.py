"""Tenant service: zones, orgs, memberships (and later rosters and parent links)."""
from __future__ import annotations

from megacity import job_progress
from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.tenant import grpc_api, http_api
from services.tenant.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("tenant", title="MegaCity tenant API",
                     description="Zones, orgs, memberships, classes and rosters of every MegaCity zone.")
    app.include_router(http_api.router)
    app.include_router(job_progress.router)
    return ServiceRuntime(settings, app=app, grpc_registrars=[grpc_api.registrar],
                          grpc_service_names=[grpc_api.SERVICE_NAME], outbox=True)
