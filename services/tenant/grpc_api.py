"""TenantService gRPC: zone/org/membership lookups and parent-link checks for other services,
and the mesh probe. Each method parses its request and calls the feature's service function
(the same ones the HTTP routes call)."""
from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.zones import Zone
from services.tenant.classes.service import class_students_for_peer, teacher_classes_for_peer
from services.tenant.diagnostics.service import record_mesh_probe
from services.tenant.members.service import memberships_of_user
from services.tenant.orgs.service import get_org_for_peer
from services.tenant.parent_links.service import check_parent_link
from services.tenant.zones.service import zone_by_id, zone_by_key

SERVICE_NAME = tenant_pb2.DESCRIPTOR.services_by_name["TenantService"].full_name


def _zone(zone_id: int) -> Zone:
    zone = zone_by_id(zone_id)
    if zone is None:
        raise AppError(404, "zone.not_found", f"zone {zone_id} does not exist")
    return zone


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise AppError(400, "request.invalid_uuid", f"{field} must be a UUID") from None


class TenantServicer(tenant_pb2_grpc.TenantServiceServicer):
    def __init__(self, res: Resources) -> None:
        self.res = res

    async def GetZone(self, request: tenant_pb2.GetZoneRequest, context: grpc.aio.ServicerContext) -> tenant_pb2.Zone:
        if request.WhichOneof("by") == "zone_key":
            z = zone_by_key(request.zone_key)
            if z is None:
                raise AppError(404, "zone.not_found", f"zone {request.zone_key!r} does not exist")
        else:
            z = _zone(request.zone_id)
        return tenant_pb2.Zone(id=z.id, key=z.key, name=z.name, domains=z.domains)

    async def GetOrg(self, request: tenant_pb2.GetOrgRequest, context: grpc.aio.ServicerContext) -> tenant_pb2.Org:
        _zone(request.zone_id)
        org = await get_org_for_peer(self.res, request.zone_id, _uuid(request.org_id, "org_id"))
        return tenant_pb2.Org(id=str(org.id), zone_id=org.zone_id, name=org.name, plan=org.plan, status=org.status)

    async def RecordMeshProbe(self, request: tenant_pb2.RecordMeshProbeRequest,
                              context: grpc.aio.ServicerContext) -> tenant_pb2.MeshProbe:
        _zone(request.zone_id)
        probe = await record_mesh_probe(self.res, request.zone_id, request.entry_service, request.note)
        return tenant_pb2.MeshProbe(id=str(probe.id), zone_id=probe.zone_id, entry_service=probe.entry_service,
                                    recorded_by="tenant", trace_id=probe.trace_id or "")

    async def ListMemberships(self, request: tenant_pb2.ListMembershipsRequest,
                              context: grpc.aio.ServicerContext) -> tenant_pb2.MembershipList:
        """Memberships of one user in the active orgs of one zone (auth asks at login)."""
        _zone(request.zone_id)
        user_id = _uuid(request.user_id, "user_id")
        memberships = await memberships_of_user(self.res, request.zone_id, user_id)
        return tenant_pb2.MembershipList(memberships=[
            tenant_pb2.Membership(zone_id=request.zone_id, org_id=str(m.org_id), user_id=str(user_id), role=m.role)
            for m in memberships])

    async def CheckParentLink(self, request: tenant_pb2.CheckParentLinkRequest,
                              context: grpc.aio.ServicerContext) -> tenant_pb2.ParentLinkStatus:
        _zone(request.zone_id)
        check = await check_parent_link(
            self.res, request.zone_id, _uuid(request.org_id, "org_id"),
            _uuid(request.parent_user_id, "parent_user_id"), _uuid(request.student_id, "student_id"))
        return tenant_pb2.ParentLinkStatus(approved=check.approved, link_id=check.link_id, status=check.status)

    async def ListTeacherClasses(self, request: tenant_pb2.ListTeacherClassesRequest,
                                 context: grpc.aio.ServicerContext) -> tenant_pb2.TeacherClassList:
        """The classes a teacher is assigned to (exam scopes a teacher's lists with it)."""
        _zone(request.zone_id)
        ids = await teacher_classes_for_peer(self.res, request.zone_id, _uuid(request.org_id, "org_id"),
                                             _uuid(request.teacher_user_id, "teacher_user_id"))
        return tenant_pb2.TeacherClassList(class_ids=[str(i) for i in ids])

    async def ListClassStudents(self, request: tenant_pb2.ListClassStudentsRequest,
                                context: grpc.aio.ServicerContext) -> tenant_pb2.ClassStudentList:
        """The live roster of one class (exam: who has not started an exam)."""
        _zone(request.zone_id)
        rows = await class_students_for_peer(self.res, request.zone_id, _uuid(request.org_id, "org_id"),
                                             _uuid(request.class_id, "class_id"))
        return tenant_pb2.ClassStudentList(students=[
            tenant_pb2.ClassStudent(student_id=str(r.id), user_id=str(r.user_id) if r.user_id else "", name=r.name)
            for r in rows])


def registrar(res: Resources) -> Callable[[grpc.aio.Server], None]:
    return lambda server: tenant_pb2_grpc.add_TenantServiceServicer_to_server(TenantServicer(res), server)
