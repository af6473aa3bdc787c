"""The rules of orgs: who may create, see and change which org, and the events that say so."""
from __future__ import annotations

import uuid

from megacity.audit import record_audit
from megacity.auth.org_scope import org_not_found
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.tenant import listing
from services.tenant.listing import Page, PageRequest
from services.tenant.orgs import queries
from services.tenant.orgs.queries import OrgRow
from services.tenant.orgs.schemas import OrgIn, OrgPatch

ORGS_KEYSET = Keyset("tenant.orgs", name=str, id=uuid.UUID)  # ORDER BY name, id
# Who may change which field of an org.
FIELD_PERMISSIONS = (("name", "org:update"), ("plan", "zone:update"), ("status", "zone:update"))


async def create_org(res: Resources, principal: Principal, body: OrgIn) -> OrgRow:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        org = await queries.insert_org(s, principal.zone_id, body.name, body.plan)
        await add_event(s, "tenant", "org.created", {"org_id": str(org.id), "zone_id": org.zone_id, "name": org.name,
                                                     "plan": org.plan, "status": org.status},
                        zone_id=org.zone_id, org_id=org.id)
        await record_audit(s, schema="tenant", actor=principal, zone_id=org.zone_id, org_id=org.id, target_type="org",
                           target_id=org.id, action="tenant.org.created",
                           after={"name": org.name, "plan": org.plan, "status": org.status})
    return org


async def list_orgs(res: Resources, principal: Principal, req: PageRequest) -> Page[OrgRow]:
    """The zone's orgs a caller may see (RLS: an org admin sees its own)."""
    after = listing.after(ORGS_KEYSET, req, res)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        found = await queries.list_orgs(s, principal.zone_id, after, req.limit + 1, req.offset)
    return listing.page(ORGS_KEYSET, found, req, res)


async def get_org(res: Resources, principal: Principal, org_id: uuid.UUID) -> OrgRow:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        org = await queries.get_org(s, principal.zone_id, org_id)
    if org is None:
        raise org_not_found(org_id)
    return org


async def get_org_for_peer(res: Resources, zone_id: int, org_id: uuid.UUID) -> OrgRow:
    """An org as another service asks for it (gRPC `GetOrg`), in that org's tenant context."""
    async with tenant_transaction(res.db(), TenantContext(zone_id=zone_id, org_id=org_id)) as s:
        org = await queries.get_org(s, zone_id, org_id)
    if org is None:
        raise AppError(404, "org.not_found", f"org {org_id} does not exist in zone {zone_id}")
    return org


async def update_org(res: Resources, principal: Principal, org_id: uuid.UUID, body: OrgPatch) -> OrgRow:
    """`name` needs `org:update`; `plan` and `status` need `zone:update`."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise AppError(400, "org.empty_update", "give at least one of name, plan, status")
    for field, permission in FIELD_PERMISSIONS:
        if field in changes and not principal.can(permission):
            raise AppError(403, "auth.permission_denied", f"role {principal.role} may not change {field}"
                                                          f" ({permission})")
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        before = await queries.get_org(s, principal.zone_id, org_id)
        org = await queries.update_org(s, principal.zone_id, org_id, changes)
        if org is None or before is None:
            raise org_not_found(org_id)
        await record_audit(s, schema="tenant", actor=principal, zone_id=org.zone_id, org_id=org_id, target_type="org",
                           target_id=org_id, action="tenant.org.updated",
                           before={k: getattr(before, k) for k in changes}, after=changes)
        await add_event(s, "tenant", "org.updated", {"org_id": str(org_id), "zone_id": org.zone_id,
                                                     "changes": changes}, zone_id=org.zone_id, org_id=org_id)
    return org
