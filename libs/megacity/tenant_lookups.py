"""Questions other services ask tenant over gRPC, written once: the classes a teacher is assigned
to (`ListTeacherClasses`), asked on every request so that an unassignment takes effect at once.
Tenant down is 503 `dependency.tenant_unavailable`. Call with no transaction open (no gRPC
inside one)."""
from __future__ import annotations

import uuid

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.grpc.client import call
from megacity.runtime import Resources


async def teacher_class_ids(res: Resources, zone_id: int, org_id: uuid.UUID, teacher: uuid.UUID) -> list[uuid.UUID]:
    stub = tenant_pb2_grpc.TenantServiceStub(res.channel("tenant"))
    reply = await call(stub.ListTeacherClasses, tenant_pb2.ListTeacherClassesRequest(
        zone_id=zone_id, org_id=str(org_id), teacher_user_id=str(teacher)),
        peer="tenant", timeout=res.settings.grpc_deadline_seconds)
    return [uuid.UUID(c) for c in reply.class_ids]
