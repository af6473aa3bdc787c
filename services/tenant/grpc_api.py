"""TenantService gRPC: zone/org/membership lookups and parent-link checks for other services,
and the mesh probe."""
from __future__ import annotations

import uuid

import grpc
from sqlalchemy import text

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.runtime import Resources
from megacity.telemetry.tracing import current_trace_id
from megacity.zones import registry
from services.tenant.parent_links import check_parent_link

SERVICE_NAME = tenant_pb2.DESCRIPTOR.services_by_name["TenantService"].full_name


def _zone(zone_id: int):
    try:
        return registry().zone_by_id(zone_id)
    except KeyError:
        raise AppError(404, "zone.not_found", f"zone {zone_id} does not exist") from None


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
            try:
                z = registry().zone(request.zone_key)
            except KeyError:
                raise AppError(404, "zone.not_found", f"zone {request.zone_key!r} does not exist") from None
        else:
            z = _zone(request.zone_id)
        return tenant_pb2.Zone(id=z.id, key=z.key, name=z.name, domains=z.domains)

    async def GetOrg(self, request: tenant_pb2.GetOrgRequest, context: grpc.aio.ServicerContext) -> tenant_pb2.Org:
        _zone(request.zone_id)
        org_id = _uuid(request.org_id, "org_id")
        ctx = TenantContext(zone_id=request.zone_id, org_id=org_id)
        async with tenant_transaction(self.res.db(), ctx) as session:
            row = (await session.execute(
                text("SELECT id, zone_id, name, plan, status FROM tenant.orgs WHERE id = :id"), {"id": org_id})).first()
        if row is None:
            raise AppError(404, "org.not_found", f"org {org_id} does not exist in zone {request.zone_id}")
        return tenant_pb2.Org(id=str(row.id), zone_id=row.zone_id, name=row.name, plan=row.plan, status=row.status)

    async def RecordMeshProbe(self, request: tenant_pb2.RecordMeshProbeRequest,
                              context: grpc.aio.ServicerContext) -> tenant_pb2.MeshProbe:
        _zone(request.zone_id)
        if not request.entry_service or request.entry_service not in registry().services:
            raise AppError(400, "probe.unknown_service", "entry_service must name a MegaCity service")
        trace_id = current_trace_id()
        async with tenant_transaction(self.res.db(), TenantContext(zone_id=request.zone_id)) as session:
            probe_id = (await session.execute(text(
                "INSERT INTO tenant.mesh_probes (zone_id, entry_service, note, trace_id)"
                " VALUES (:zone_id, :entry, :note, :trace_id) RETURNING id"),
                {"zone_id": request.zone_id, "entry": request.entry_service, "note": request.note[:500],
                 "trace_id": trace_id})).scalar_one()
            await add_event(session, "tenant", "diagnostics.probe.recorded",
                            {"probe_id": str(probe_id), "zone_id": request.zone_id,
                             "entry_service": request.entry_service}, zone_id=request.zone_id)
        return tenant_pb2.MeshProbe(id=str(probe_id), zone_id=request.zone_id, entry_service=request.entry_service,
                                    recorded_by="tenant", trace_id=trace_id or "")


    async def ListMemberships(self, request: tenant_pb2.ListMembershipsRequest,
                              context: grpc.aio.ServicerContext) -> tenant_pb2.MembershipList:
        """Memberships of one user in the orgs of one zone (active orgs only: a suspended org's
        members cannot sign in to it). Reads across the zone's orgs through the zone-level RLS
        policy, and only that zone."""
        _zone(request.zone_id)
        user_id = _uuid(request.user_id, "user_id")
        async with tenant_transaction(self.res.db(), TenantContext(zone_id=request.zone_id, role="zone_admin")) as s:
            rows = (await s.execute(text(
                "SELECT m.org_id, m.role FROM tenant.memberships m JOIN tenant.orgs o"
                " ON o.zone_id = m.zone_id AND o.id = m.org_id AND o.status = 'active'"
                " WHERE m.zone_id = :z AND m.user_id = :u ORDER BY m.created_at, m.org_id"),
                {"z": request.zone_id, "u": user_id})).all()
        return tenant_pb2.MembershipList(memberships=[
            tenant_pb2.Membership(zone_id=request.zone_id, org_id=str(r.org_id), user_id=str(user_id), role=r.role)
            for r in rows])

    async def CheckParentLink(self, request: tenant_pb2.CheckParentLinkRequest,
                              context: grpc.aio.ServicerContext) -> tenant_pb2.ParentLinkStatus:
        _zone(request.zone_id)
        approved, link_id, status = await check_parent_link(
            self.res.db(), request.zone_id, _uuid(request.org_id, "org_id"),
            _uuid(request.parent_user_id, "parent_user_id"), _uuid(request.student_id, "student_id"))
        return tenant_pb2.ParentLinkStatus(approved=approved, link_id=link_id, status=status)


def registrar(res: Resources):
    return lambda server: tenant_pb2_grpc.add_TenantServiceServicer_to_server(TenantServicer(res), server)
