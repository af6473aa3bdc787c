"""Which org a request acts on, written once for every service.

An org-bound caller (org_admin, teacher, student, parent) acts on the org of its token and
nothing else; a zone-level caller (zone_admin, super_admin) names the org with `?org_id=`
(whose existence the owning service checks). Another org's id answers 404, so a tenant's ids
are not even confirmed to exist. RLS enforces the same again in the database.
"""
from __future__ import annotations

import uuid

from fastapi import Query

from megacity.auth.tokens import Principal
from megacity.db import TenantContext
from megacity.errors import AppError
from megacity.http_app import problem_response, problems
from megacity.roles import ADMIN_ROLES, STAFF_ROLES, ZONE_ROLES

__all__ = ["ADMIN_ROLES", "DENIED", "ORG_ID", "ORG_REQUIRED", "ORG_SCOPE", "STAFF_ROLES", "ZONE_ROLES", "acting_org",
           "is_staff", "org_context", "org_not_found"]

# OpenAPI entries every protected endpoint documents.
DENIED = {
    **problem_response(401, "auth.token_missing", "An access token is required"),
    **problem_response(403, "auth.permission_denied", "Your role lacks the permission", "role student may not exam:create"),
}
ORG_REQUIRED = problem_response(400, "org.required", "Zone-level callers must name the org (org_id)")
# OpenAPI entries of every endpoint that acts on `acting_org(principal, org_id)`: a zone-level
# caller without `org_id` (400), an org-bound role whose token names no org (403), another
# org's id (404). Merge with `megacity.http_app.problems(ORG_SCOPE, ...)`.
ORG_SCOPE = problems(ORG_REQUIRED,
                     (403, "org.membership_required", "This token is not bound to an org"),
                     problem_response(404, "org.not_found", "No such org in this zone",
                                      "org 6f1c1a4e-0000-4000-8000-000000000000 does not exist in this zone"))
ORG_ID = Query(None, description="Zone-level callers (zone_admin, super_admin): the org to act on. "
                                 "Others act on the org of their token.")


def org_not_found(org_id: object) -> AppError:
    return AppError(404, "org.not_found", f"org {org_id} does not exist in this zone")


def acting_org(principal: Principal, org_id: uuid.UUID | None = None) -> uuid.UUID:
    """The org this request acts on (see module doc)."""
    if principal.role in ZONE_ROLES:
        if org_id is not None:
            return org_id
        if principal.org_id is not None:
            return principal.org_id
        raise AppError(400, "org.required", "zone-level callers must name the org (org_id)")
    if principal.org_id is None:
        raise AppError(403, "org.membership_required", "this token is not bound to an org")
    if org_id is not None and org_id != principal.org_id:
        raise org_not_found(org_id)
    return principal.org_id


def org_context(principal: Principal, org_id: uuid.UUID) -> TenantContext:
    """The RLS context for acting on `org_id`: the caller's zone, role and user, that org."""
    return TenantContext(zone_id=principal.zone_id, org_id=org_id, role=principal.role, user_id=principal.user_id)


def is_staff(principal: Principal) -> bool:
    return principal.role in STAFF_ROLES
