"""The mesh probe: exam asks tenant over gRPC to record a probe (tenant publishes an event that
kzone records), so that one trace shows every hop. No database transaction is involved."""
from __future__ import annotations

from dataclasses import dataclass

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.grpc.client import call
from megacity.runtime import Resources
from megacity.telemetry.tracing import current_trace_id
from megacity.zones import Zone


@dataclass(frozen=True)
class ProbeReceipt:
    probe_id: str
    zone: str
    entry_service: str
    recorded_by: str
    trace_id: str | None


async def send_probe(res: Resources, zone: Zone, note: str = "") -> ProbeReceipt:
    """Tenant down: 503 `dependency.tenant_unavailable`."""
    stub = tenant_pb2_grpc.TenantServiceStub(res.channel("tenant"))
    probe = await call(stub.RecordMeshProbe, tenant_pb2.RecordMeshProbeRequest(
        zone_id=zone.id, entry_service="exam", note=note), peer="tenant", timeout=res.settings.grpc_deadline_seconds)
    return ProbeReceipt(probe_id=probe.id, zone=zone.key, entry_service=probe.entry_service,
                        recorded_by=probe.recorded_by, trace_id=current_trace_id())
