"""Exam public HTTP API. For now: the mesh probe SREs use to check one request end to end."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.grpc.client import call
from megacity.http_app import problem_response, request_zone
from megacity.runtime import Resources, resources
from megacity.telemetry.tracing import current_trace_id
from megacity.zones import Zone

router = APIRouter(prefix="/api/v1/diagnostics", tags=["diagnostics"])


class ProbeIn(BaseModel):
    note: str = Field("", max_length=500, description="free text kept with the probe")


class ProbeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "probe_id": "0b7f6f8e-3f0c-4c57-9a5e-1d2a3b4c5d6e", "zone": "univ", "entry_service": "exam",
        "recorded_by": "tenant", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}]})

    probe_id: str
    zone: str
    entry_service: str
    recorded_by: str
    trace_id: str | None


@router.post("/probe", response_model=ProbeOut, status_code=201,
             summary="Send a probe through the mesh (exam -> tenant gRPC -> event -> kzone)",
             description="Look the returned trace_id up in Jaeger to see every hop. K-Zone records the "
                         "probe's event; GET /api/v1/kzone/mesh-probes/{probe_id} shows the receipt.",
             responses={**problem_response(404, "zone.unknown_host", "No zone serves this host"),
                        **problem_response(503, "dependency.tenant_unavailable", "The tenant service did not answer")})
async def send_probe(body: ProbeIn | None = None, zone: Zone = Depends(request_zone),
                     res: Resources = Depends(resources)) -> ProbeOut:
    stub = tenant_pb2_grpc.TenantServiceStub(res.channel("tenant"))
    probe = await call(stub.RecordMeshProbe, tenant_pb2.RecordMeshProbeRequest(
        zone_id=zone.id, entry_service="exam", note=(body.note if body else "")),
        peer="tenant", timeout=res.settings.grpc_deadline_seconds)
    return ProbeOut(probe_id=probe.id, zone=zone.key, entry_service=probe.entry_service,
                    recorded_by=probe.recorded_by, trace_id=current_trace_id())
