"""Who may act on which org: the permission dependencies and the acting-org rule.

Permissions come from the one map in `megacity.auth.permissions` (seed 001 §3.2.2) and are
checked by `megacity.auth.dependencies.require`; `require_any` is the same check for the few
endpoints two roles reach through different permissions (a student approving a parent link
with `profile:update`, an org admin with `user:update`).

The org a request acts on: an org-bound caller (org_admin, teacher, student, parent) acts on
the org of its token and nothing else; a zone-level caller (zone_admin, super_admin) names the
org, which must exist in the request's zone. Anything else is 404, so another tenant's ids do
not even confirm that they exist. RLS enforces the same a second time in the database.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.dependencies import current_principal
from megacity.auth.tokens import Principal
from megacity.db import TenantContext
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.telemetry.logs import get_logger

log = get_logger("tenant.access")

ORG_ROLES = ("org_admin", "teacher", "student", "parent")
ZONE_ROLES = ("zone_admin", "super_admin")
ADMIN_ROLES = ("org_admin", *ZONE_ROLES)

DENIED = {
    **problem_response(401, "auth.token_missing", "An access token is required"),
    **problem_response(403, "auth.permission_denied", "Your role lacks the permission",
                       "role student may not user:create"),
}


def require_any(*permissions: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller, who must hold at least one of `permissions`."""

    async def dependency(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
        if not any(principal.can(p) for p in permissions):
            wanted = " or ".join(permissions)
            log.warning("permission denied", user_id=str(principal.user_id), role=principal.role,
                        permission=wanted, path=request.url.path)
            hook = getattr(request.app.state, "on_permission_denied", None)
            if hook is not None:
                await hook(request, principal, wanted)
            raise AppError(403, "auth.permission_denied", f"role {principal.role} may not {wanted}")
        return principal

    dependency.__name__ = "require_" + "_or_".join(p.replace(":", "_") for p in permissions)
    return dependency


def org_not_found(org_id: object) -> AppError:
    return AppError(404, "org.not_found", f"org {org_id} does not exist in this zone")


def acting_org(principal: Principal, org_id: uuid.UUID | None) -> uuid.UUID:
    """The org this request acts on (see module doc). Existence is checked by `ensure_org`."""
    if principal.role in ZONE_ROLES:
        if org_id is None:
            if principal.org_id is not None:
                return principal.org_id
            raise AppError(400, "org.required", "zone-level callers must name the org (org_id)")
        return org_id
    if principal.org_id is None or (org_id is not None and org_id != principal.org_id):
        raise org_not_found(org_id or "(none)")
    return principal.org_id


def org_context(principal: Principal, org_id: uuid.UUID) -> TenantContext:
    """The RLS context for acting on `org_id`: the caller's role, zone and user, that org."""
    return TenantContext(zone_id=principal.zone_id, org_id=org_id, role=principal.role, user_id=principal.user_id)


async def ensure_org(session: AsyncSession, zone_id: int, org_id: uuid.UUID, *, active: bool = False) -> None:
    """404 unless the org exists in this zone and RLS lets the caller see it (and, for writes,
    409 when it is not active)."""
    row = (await session.execute(text("SELECT status FROM tenant.orgs WHERE zone_id = :z AND id = :o"),
                                 {"z": zone_id, "o": org_id})).first()
    if row is None:
        raise org_not_found(org_id)
    if active and row.status != "active":
        raise AppError(409, "org.not_active", f"org {org_id} is {row.status}")
