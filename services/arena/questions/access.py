"""Who sees and writes questions and categories (migration 0001's `shared_read` / `org_*`
policies, said again in the service so a refusal has a clear code).

- Read: every actor of the zone reads the zone-shared rows (org_id NULL) and its own org's; zone
  and super admins read every org's rows of the zone.
- Write: org rows by teachers and org admins of that org; shared rows only by zone/super admins
  (403 `arena.shared_forbidden`). An org-bound caller without an org in its token writes nothing
  (403 `arena.org_required`); a zone admin writes shared rows.
"""
from __future__ import annotations

import uuid

from megacity.auth.tokens import Principal
from megacity.db import TenantContext
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.roles import ZONE_ROLES

NOT_FOUND = problem_response(404, "arena.not_found", "No such question or category visible to you",
                             "question 9b2f0c1e-0000-4000-8000-000000000000 does not exist")
ORG_REQUIRED = (403, "arena.org_required", "Org rows need a token bound to an org (zone admins write shared rows)")
SHARED_FORBIDDEN = (403, "arena.shared_forbidden", "Only zone and super admins write zone-shared rows")
INVALID = (422, "request.invalid", "Request failed validation")
INVALID_CURSOR = (400, "request.invalid_cursor", "A cursor this listing did not issue")


def context(principal: Principal) -> TenantContext:
    """The RLS context of the caller: its zone, its org (none for zone admins), role and user."""
    return TenantContext(zone_id=principal.zone_id, org_id=principal.org_id, role=principal.role,
                         user_id=principal.user_id)


def is_zone_staff(principal: Principal) -> bool:
    return principal.role in ZONE_ROLES


def not_found(kind: str, item_id: object) -> AppError:
    return AppError(404, "arena.not_found", f"{kind} {item_id} does not exist")


def owner_org(principal: Principal, shared: bool) -> uuid.UUID | None:
    """The org_id a new row gets: None for a shared row (zone staff only), else the caller's org."""
    if shared:
        if not is_zone_staff(principal):
            raise AppError(403, "arena.shared_forbidden", "only zone and super admins write zone-shared rows")
        return None
    if principal.org_id is None:
        raise AppError(403, "arena.org_required", "this token is not bound to an org; zone admins write shared "
                                                  "rows (shared: true)")
    return principal.org_id


def ensure_writable(principal: Principal, row_org: uuid.UUID | None) -> None:
    """A visible row the caller may change: its own org's, or a shared one for zone staff.
    Zone staff change any row of the zone."""
    if is_zone_staff(principal):
        return
    if row_org is None:
        raise AppError(403, "arena.shared_forbidden", "only zone and super admins change zone-shared rows")
    if row_org != principal.org_id:  # RLS hides such rows already; said again here
        raise AppError(403, "arena.shared_forbidden", "the row belongs to another org")
