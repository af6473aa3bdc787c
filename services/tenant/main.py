"""Tenant service: zones, orgs, memberships, classes, roster records, parent links, roster import.

Each feature is a package (`routes.py` HTTP, `service.py` rules, `queries.py` SQL, `schemas.py`
models); this module wires their routers, the gRPC face (`grpc_api.py`) and the import runner."""
from __future__ import annotations

from megacity import job_progress
from megacity.http_app import create_app
from megacity.retention import RetentionWorker
from megacity.runtime import Resources, ServiceRuntime
from megacity.settings import ServiceSettings
from services.tenant import grpc_api
from services.tenant.classes.routes import router as classes_router
from services.tenant.members.routes import router as members_router
from services.tenant.notifications import email as notification_emails
from services.tenant.notifications.routes import router as notifications_router
from services.tenant.orgs.routes import router as orgs_router
from services.tenant.parent_links.routes import codes_router as parent_codes_router
from services.tenant.parent_links.routes import router as parent_links_router
from services.tenant.retention import service as retention
from services.tenant.roster_import.jobs import ImportRunner
from services.tenant.roster_import.routes import router as roster_imports_router
from services.tenant.settings import Settings, TenantSettings
from services.tenant.staff.routes import router as staff_router
from services.tenant.students.routes import router as students_router
from services.tenant.zones.routes import router as zones_router


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("tenant", title="MegaCity tenant API",
                     description="Zones, orgs, memberships, classes, rosters, parent–student links and bulk roster "
                                 "import of every MegaCity zone. Errors are problem JSON with a stable `code`.")
    for router in (zones_router, orgs_router, members_router, classes_router, students_router, staff_router,
                   parent_links_router, parent_codes_router, notifications_router, roster_imports_router, job_progress.router):
        app.include_router(router)

    async def start_import_runner(res: Resources) -> None:
        app.state.roster_imports = ImportRunner(res)
        app.state.roster_imports.start_upkeep()
        app.state.notification_emails = await notification_emails.start(res)  # None: SMTP off

    async def stop_import_runner(res: Resources) -> None:
        await app.state.roster_imports.close()
        await notification_emails.stop(app.state.notification_emails)

    def retention_worker(res: Resources) -> RetentionWorker:
        assert isinstance(settings, TenantSettings)
        return RetentionWorker(lambda: retention.run_upkeep(res, settings), service="tenant",
                               interval=settings.retention_interval_seconds)

    return ServiceRuntime(settings, app=app, grpc_registrars=[grpc_api.registrar],
                          grpc_service_names=[grpc_api.SERVICE_NAME], outbox=True, on_start=[start_import_runner],
                          on_stop=[stop_import_runner], workers=[retention_worker])
