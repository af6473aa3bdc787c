"""HTTP face of the diagnostics probe: `/api/v1/diagnostics/probe` (no token: the host names the zone)."""
from __future__ import annotations

from fastapi import APIRouter

from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.exam.diagnostics import service
from services.exam.diagnostics.schemas import TENANT_DOWN, UNKNOWN_HOST, ProbeIn, ProbeOut

router = APIRouter(prefix="/api/v1/diagnostics", tags=["diagnostics"])


@router.post("/probe", response_model=ProbeOut, status_code=201,
             summary="Send a probe through the mesh (exam -> tenant gRPC -> event -> kzone)",
             description="Look the returned trace_id up in Jaeger to see every hop. K-Zone records the "
                         "probe's event; GET /api/v1/kzone/mesh-probes/{probe_id} shows the receipt.",
             responses=problems(UNKNOWN_HOST, TENANT_DOWN))
async def send_probe(zone: ZoneDep, res: ResourcesDep, body: ProbeIn | None = None) -> ProbeOut:
    return ProbeOut.model_validate(await service.send_probe(res, zone, body.note if body else ""))
