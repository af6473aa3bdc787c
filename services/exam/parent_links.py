"""A parent sees a student's attempts and reports only through an APPROVED parent–student link,
which tenant owns: asked per request over gRPC (`TenantService/CheckParentLink`), never cached,
so a revoked link stops access at once. Tenant down -> 503 `dependency.tenant_unavailable`."""
from __future__ import annotations

import uuid

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.grpc.client import call
from megacity.runtime import Resources


async def ensure_parent_link(res: Resources, principal: Principal, org_id: uuid.UUID, student_id: uuid.UUID) -> None:
    stub = tenant_pb2_grpc.TenantServiceStub(res.channel("tenant"))
    status = await call(stub.CheckParentLink, tenant_pb2.CheckParentLinkRequest(
        zone_id=principal.zone_id, org_id=str(org_id), parent_user_id=str(principal.user_id),
        student_id=str(student_id)), peer="tenant", timeout=res.settings.grpc_deadline_seconds)
    if not status.approved:
        raise AppError(403, "parent_link.required",
                       f"you have no approved link to this student (link status: {status.status or 'none'})")
