"""The admin console (admin. host). Page shells whose scripts call api.<domain> with the admin's
token (static/js/pages/console-*.js), except `/health`: the services' `/readyz` are internal (the
edge does not route them), so web probes them server-side and renders the table — service
readiness is ops data, not business data, and the admin host is behind the edge's IP allow-list."""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx
from fastapi import Request
from fastapi.responses import HTMLResponse

from megacity.zones import registry
from services.web.i18n import N_
from services.web.settings import WebSettings
from services.web.site import SiteDep, page_router
from services.web.templating import render

router = page_router("admin")
PROBE_TIMEOUT_SECONDS = 2.0


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


# -- /health: server-side readiness probes -----------------------------------------------------

@dataclass(frozen=True)
class Probe:
    service: str
    url: str
    public: bool
    state: str  # ready | not_ready | unreachable
    http_status: int | None
    millis: int | None
    detail: str
    own: bool = False  # this very process (no HTTP request)


def service_urls(settings: WebSettings) -> dict[str, str]:
    """Base URL of every registry service (web's settings: `health_targets`, else the template)."""
    return {name: settings.health_url(name, spec.http_port) for name, spec in registry().services.items()}


async def _probe(client: httpx.AsyncClient, service: str, base: str, public: bool) -> Probe:
    url = base.rstrip("/") + "/readyz"
    started = time.perf_counter()
    try:
        resp = await client.get(url)
    except httpx.HTTPError as err:
        return Probe(service, url, public, "unreachable", None, None, type(err).__name__)
    millis = round((time.perf_counter() - started) * 1000)
    if resp.status_code == 200:
        return Probe(service, url, public, "ready", 200, millis, "")
    try:
        body = resp.json()
    except ValueError:
        body = None
    detail = str(body.get("code") or "") if isinstance(body, dict) else ""
    return Probe(service, url, public, "not_ready", resp.status_code, millis, detail)


async def probe_all(settings: WebSettings, own: str | None = None, own_ready: bool = True) -> list[Probe]:
    """Every registry service's readiness, probed concurrently, in registry order; never raises.
    `own` (this service, unless `health_targets` names it) answers from its own state: the
    process rendering the page needs no request to itself."""
    specs = registry().services
    urls = service_urls(settings)

    async def one(client: httpx.AsyncClient, name: str) -> Probe:
        if name == own and name not in settings.health_targets:
            return Probe(name, urls[name], specs[name].public, "ready" if own_ready else "not_ready",
                         None, None, "", own=True)
        return await _probe(client, name, urls[name], specs[name].public)

    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        return list(await asyncio.gather(*(one(client, name) for name in specs)))


@router.get("/health", response_class=HTMLResponse, summary="Service health: each service's /readyz, probed by web")
async def console_health(request: Request, site: SiteDep) -> HTMLResponse:
    probes = await probe_all(request.app.state.resources.settings, own=request.app.state.service,
                             own_ready=bool(request.app.state.ready))
    return render(request, site, "console/health.html", title=N_("Service health"),
                  probes=probes, ready=sum(p.state == "ready" for p in probes), checked_at=time.time_ns())
