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


# The services that write platform audit records (`megacity.audit`), as the audit page's
# service filter offers them: (service, what it holds).
AUDIT_SERVICES = (
    ("auth", N_("Accounts and sign-in")),
    ("tenant", N_("Schools and members")),
    ("exam", N_("Exams")),
    ("classroom", N_("Live classes")),
    ("arena", N_("Arena")),
    ("kzone", N_("K-Zone")),
)
# What the action and target-type fields suggest (datalists), kept next to the services so the
# three lists move together: the action prefixes the services record (`record_audit` calls, and
# auth's own log's `auth.*` / `admin.*`), and their target types. Suggestions only: the fields
# take any well-formed value.
AUDIT_ACTIONS = (
    "auth.login.", "auth.accounts.", "auth.activation.", "auth.mfa.", "auth.password.",
    "auth.password_reset.", "auth.refresh.", "auth.session.", "auth.sessions.", "auth.signing_key.",
    "auth.email.", "auth.email_verification.", "auth.pii.", "admin.",
    "tenant.org.", "tenant.member.", "tenant.class.", "tenant.student.", "tenant.teacher.", "tenant.parent.",
    "tenant.roster_import.", "tenant.roster_provision.", "tenant.parent_link.", "tenant.pii.",
    "exam.exam.", "exam.item_bank.",
    "classroom.session.", "classroom.moderation_word.",
    "arena.question.", "arena.appeal.",
    "kzone.content.", "kzone.media.", "kzone.ai_job.",
)
AUDIT_TARGETS = (
    "org", "membership", "class", "student", "teacher", "parent", "roster_import", "parent_link", "pii_key",
    "exam", "item_bank", "session", "moderation_word", "question", "appeal", "content", "media_batch",
    "ai_job", "user",
)


@router.get("/audit", response_class=HTMLResponse,
            summary="Platform audit viewer (zone admins: the zone; org admins: their org)")
async def console_audit(request: Request, site: SiteDep) -> HTMLResponse:
    """Calls auth's `GET /api/v1/audit` (every service's records and auth's own log)."""
    return render(request, site, "console/audit.html", title=N_("Audit log"), script="console-audit",
                  audit_services=AUDIT_SERVICES, audit_actions=AUDIT_ACTIONS, audit_targets=AUDIT_TARGETS)


@router.get("/keys", response_class=HTMLResponse, summary="Signing keys (the published JWKS)")
async def console_keys(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "console/keys.html", title=N_("Signing keys"), script="console-keys")


@router.get("/health", response_class=HTMLResponse, summary="Service health: each service's /readyz, probed by web")
async def console_health(request: Request, site: SiteDep) -> HTMLResponse:
    probes = await service.probe_all(request.app.state.resources.settings, own=request.app.state.service,
                             own_ready=bool(request.app.state.ready))
    return render(request, site, "console/health.html", title=N_("Service health"),
                  probes=probes, ready=sum(p.state == "ready" for p in probes), checked_at=time.time_ns())
