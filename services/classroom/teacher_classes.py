"""The classes a teacher is assigned to, asked of tenant (`ListTeacherClasses`) on every request
so that an unassignment takes effect at once. Tenant down is 503 `dependency.tenant_unavailable`.
Call with no transaction open (no gRPC inside one)."""
from __future__ import annotations

import uuid

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.grpc.client import call
from megacity.roles import ADMIN_ROLES
from megacity.runtime import Resources


async def teacher_class_ids(res: Resources, zone_id: int, org_id: uuid.UUID, teacher: uuid.UUID) -> list[uuid.UUID]:
    stub = tenant_pb2_grpc.TenantServiceStub(res.channel("tenant"))
    reply = await call(stub.ListTeacherClasses, tenant_pb2.ListTeacherClassesRequest(
        zone_id=zone_id, org_id=str(org_id), teacher_user_id=str(teacher)),
        peer="tenant", timeout=res.settings.grpc_deadline_seconds)
    return [uuid.UUID(c) for c in reply.class_ids]


def not_your_class(class_id: uuid.UUID) -> AppError:
    """Another org's class and a class that is not the teacher's look the same."""
    return AppError(404, "classroom.not_your_class", f"class {class_id} does not exist in your org or is not yours")


async def ensure_teaches(res: Resources, principal: Principal, org_id: uuid.UUID, class_id: uuid.UUID) -> None:
    """Admins of the org may act on any of its classes; a teacher only on one it is assigned to."""
    if principal.role in ADMIN_ROLES:
        return
    if class_id not in await teacher_class_ids(res, principal.zone_id, org_id, principal.user_id):
        raise not_your_class(class_id)
