"""The admin health page's data: each service's /readyz, probed by web server-side. The
services' /readyz are internal (the edge does not route them); readiness is ops data, not
business data, and the admin host is behind the edge's IP allow-list."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from megacity.zones import registry
from services.web.settings import WebSettings

PROBE_TIMEOUT_SECONDS = 2.0


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
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):  # the whole probe, not each phase
            resp = await client.get(url)
    except (httpx.HTTPError, TimeoutError, ValueError, OSError) as err:  # ValueError: a malformed target URL
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
