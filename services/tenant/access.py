"""Who may act on which org, as tenant's features check it.

The rule itself (org-bound callers act on their token's org; zone-level callers name one;
another org's id is 404) is `megacity.auth.org_scope`, shared by every service. Tenant owns the
orgs, so it adds `ensure_org` (the org exists, is visible, and for writes is active), which
every org-scoped feature calls inside its transaction, and the HTTP pieces its routes share.
"""
from __future__ import annotations

import uuid

from fastapi import Query
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import org_not_found
from megacity.errors import AppError
from megacity.http_app import problem_response
from services.tenant.orgs.queries import org_status

ORG_ID = Query(None, description="Zone-level callers: the org to act on (others: their own org)")
# Documented by every endpoint that writes through `ensure_org(..., active=True)`.
ORG_NOT_ACTIVE = problem_response(409, "org.not_active", "The org is suspended or closed",
                                  "org 6f1c1a4e-0000-4000-8000-000000000000 is suspended")


async def ensure_org(s: AsyncSession, zone_id: int, org_id: uuid.UUID, *, active: bool = False) -> None:
    """404 unless the org exists in this zone and RLS lets the caller see it (and, for writes,
    409 `org.not_active` when it is not active)."""
    status = await org_status(s, zone_id, org_id)
    if status is None:
        raise org_not_found(org_id)
    if active and status != "active":
        raise AppError(409, "org.not_active", f"org {org_id} is {status}")
