"""Which role and org a login gets: zone-level platform roles are auth's, org roles are tenant
memberships (asked over gRPC, never read from tenant's tables).

- A platform role (zone_admin, super_admin) wins; such a token is zone-level (no org).
- Otherwise the user's memberships in the zone decide: none -> guest; one -> that org and
  role; several -> the login must name `org_id` (409 `auth.org_required` lists them).
- Naming an org the user is not a member of is 403 `auth.not_a_member`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.errors import AppError
from megacity.grpc.client import call
from megacity.runtime import Resources

ORG_ROLES = ("org_admin", "teacher", "student", "parent", "guest")


@dataclass(frozen=True)
class Membership:
    org_id: uuid.UUID
    role: str


@dataclass(frozen=True)
class Grant:
    role: str
    org_id: uuid.UUID | None


async def list_memberships(res: Resources, zone_id: int, user_id: uuid.UUID) -> list[Membership]:
    stub = tenant_pb2_grpc.TenantServiceStub(res.channel("tenant"))
    reply = await call(stub.ListMemberships, tenant_pb2.ListMembershipsRequest(zone_id=zone_id, user_id=str(user_id)),
                       peer="tenant", timeout=res.settings.grpc_deadline_seconds)
    return [Membership(uuid.UUID(m.org_id), m.role) for m in reply.memberships
            if m.zone_id == zone_id and m.role in ORG_ROLES]


def choose(platform_role: str | None, memberships: list[Membership], requested_org: uuid.UUID | None) -> Grant:
    if platform_role:
        return Grant(platform_role, None)
    if requested_org is not None:
        for m in memberships:
            if m.org_id == requested_org:
                return Grant(m.role, m.org_id)
        raise AppError(403, "auth.not_a_member", "you are not a member of that org")
    if not memberships:
        return Grant("guest", None)
    orgs = sorted({str(m.org_id) for m in memberships})
    if len(orgs) > 1:
        raise AppError(409, "auth.org_required", "you belong to several orgs: log in again naming org_id",
                       {"org_ids": orgs})
    # One org (a member with two roles there gets the stronger one).
    return Grant(min(memberships, key=lambda m: ORG_ROLES.index(m.role)).role, memberships[0].org_id)
