"""The admin console (admin. host). Page shells whose scripts call api.<domain> with the admin's
token (static/js/pages/console-*.js), except `/health`: the services' `/readyz` are internal (the
edge does not route them), so web probes them server-side and renders the table — service
readiness is ops data, not business data, and the admin host is behind the edge's IP allow-list."""
from __future__ import annotations

import time
import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.web.console import service
from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

router = page_router("admin")


@router.get("/", response_class=HTMLResponse, summary="Console home: orgs (zone admins) or my org")
async def console_home(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "console/home.html", title=N_("Admin console"), script="console-home")


@router.get("/orgs", response_class=HTMLResponse, summary="Orgs of the zone (zone admins; org admins: their own)")
async def console_orgs(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "console/orgs.html", title=N_("Organisations"), script="console-orgs")


@router.get("/orgs/{org_id}", response_class=HTMLResponse, summary="An org: members and roles")
async def console_org(request: Request, site: SiteDep, org_id: uuid.UUID) -> HTMLResponse:
    return render(request, site, "console/org.html", title=N_("Organisation"), script="console-org",
                  org_id=str(org_id))


@router.get("/audit", response_class=HTMLResponse, summary="Audit log viewer (zone admins)")
async def console_audit(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "console/audit.html", title=N_("Audit log"), script="console-audit")


@router.get("/keys", response_class=HTMLResponse, summary="Signing keys (the published JWKS)")
async def console_keys(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "console/keys.html", title=N_("Signing keys"), script="console-keys")


@router.get("/health", response_class=HTMLResponse, summary="Service health: each service's /readyz, probed by web")
async def console_health(request: Request, site: SiteDep) -> HTMLResponse:
    probes = await service.probe_all(request.app.state.resources.settings, own=request.app.state.service,
                             own_ready=bool(request.app.state.ready))
    return render(request, site, "console/health.html", title=N_("Service health"),
                  probes=probes, ready=sum(p.state == "ready" for p in probes), checked_at=time.time_ns())
