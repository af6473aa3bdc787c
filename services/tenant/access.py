"""Who may act on which org, as tenant's modules import it.

The rule itself (org-bound callers act on their token's org; zone-level callers name one;
another org's id is 404) is `megacity.auth.org_scope`, shared by every service; permissions are
`megacity.auth.dependencies.require`, which takes several permissions for the few endpoints two
roles reach through different ones (a student approving a parent link with `profile:update`,
an org admin with `user:update`). Tenant adds `ensure_org`, since it owns the orgs table.
"""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import ADMIN_ROLES, DENIED, ORG_SCOPE, ZONE_ROLES, acting_org, org_context, org_not_found
from megacity.errors import AppError
from megacity.http_app import problem_response

__all__ = ["ADMIN_ROLES", "DENIED", "ORG_NOT_ACTIVE", "ORG_SCOPE", "ZONE_ROLES", "acting_org", "ensure_org", "org_context",
           "org_not_found"]

# ... and of every endpoint that writes through `ensure_org(..., active=True)`.
ORG_NOT_ACTIVE = problem_response(409, "org.not_active", "The org is suspended or closed",
                                  "org 6f1c1a4e-0000-4000-8000-000000000000 is suspended")


async def ensure_org(session: AsyncSession, zone_id: int, org_id: uuid.UUID, *, active: bool = False) -> None:
    """404 unless the org exists in this zone and RLS lets the caller see it (and, for writes,
    409 when it is not active)."""
    row = (await session.execute(text("SELECT status FROM tenant.orgs WHERE zone_id = :z AND id = :o"),
                                 {"z": zone_id, "o": org_id})).first()
    if row is None:
        raise org_not_found(org_id)
    if active and row.status != "active":
        raise AppError(409, "org.not_active", f"org {org_id} is {row.status}")
