"""The classes a teacher is assigned to (`megacity.tenant_lookups.teacher_class_ids`, asked of
tenant on every request so that an unassignment takes effect at once) and class rosters; the
features that scope a teacher's view (attempt lists, the dashboard, student reports) share them.
Tenant down is 503 `dependency.tenant_unavailable`. Call with no transaction open (no gRPC
inside one)."""
from __future__ import annotations

import asyncio
import uuid

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.errors import AppError
from megacity.grpc.client import call
from megacity.runtime import Resources
from megacity.tenant_lookups import teacher_class_ids

__all__ = ["class_not_found", "class_students", "teacher_class_ids", "teaches_student"]


def class_not_found(class_id: uuid.UUID) -> AppError:
    """Another org's class and a class of the org that is not the teacher's look the same."""
    return AppError(404, "class.not_found", f"class {class_id} does not exist in your org or is not yours")


async def class_students(res: Resources, zone_id: int, org_id: uuid.UUID,
                         class_id: uuid.UUID) -> list[tenant_pb2.ClassStudent] | None:
    """A class's live roster (tenant's `ListClassStudents`); None when the class does not exist."""
    stub = tenant_pb2_grpc.TenantServiceStub(res.channel("tenant"))
    try:
        reply = await call(stub.ListClassStudents, tenant_pb2.ListClassStudentsRequest(
            zone_id=zone_id, org_id=str(org_id), class_id=str(class_id)),
            peer="tenant", timeout=res.settings.grpc_deadline_seconds)
    except AppError as err:
        if err.status == 404:
            return None
        raise
    return list(reply.students)


async def teaches_student(res: Resources, zone_id: int, org_id: uuid.UUID, teacher: uuid.UUID,
                          student_user_id: uuid.UUID) -> bool:
    """Whether the student (by auth user) is on the live roster of one of the teacher's classes
    (concurrently, one roster per class); a class deleted meanwhile is skipped."""
    classes = await teacher_class_ids(res, zone_id, org_id, teacher)

    async def on_roster(class_id: uuid.UUID) -> bool:
        students = await class_students(res, zone_id, org_id, class_id) or []
        return any(st.user_id == str(student_user_id) for st in students)

    return any(await asyncio.gather(*(on_roster(c) for c in classes)))
