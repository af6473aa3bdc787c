"""Tenant service: zones, orgs, memberships, classes, roster records, parent links, roster import."""
from __future__ import annotations

from megacity import job_progress
from megacity.http_app import create_app
from megacity.runtime import Resources, ServiceRuntime
from services.tenant import classes, grpc_api, http_api, members, orgs, parent_links, staff, students
from services.tenant.roster_import import routes as roster_imports
from services.tenant.roster_import.jobs import ImportRunner
from services.tenant.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("tenant", title="MegaCity tenant API",
                     description="Zones, orgs, memberships, classes, rosters, parent–student links and bulk roster "
                                 "import of every MegaCity zone. Errors are problem JSON with a stable `code`.")
    for router in (http_api.router, orgs.router, members.router, classes.router, students.router,
                   staff.teachers_router, staff.parents_router, parent_links.router, roster_imports.router,
                   job_progress.router):
        app.include_router(router)

    async def start_import_runner(res: Resources) -> None:
        app.state.roster_imports = ImportRunner(res)
        app.state.roster_imports.start_upkeep()

    async def stop_import_runner(res: Resources) -> None:
        await app.state.roster_imports.close()

    return ServiceRuntime(settings, app=app, grpc_registrars=[grpc_api.registrar],
                          grpc_service_names=[grpc_api.SERVICE_NAME], outbox=True, on_start=[start_import_runner],
                          on_stop=[stop_import_runner])
