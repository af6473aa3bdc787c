"""K-Zone diagnostics over HTTP (under api.my-ktube.com / api.my-ktube.ai)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter

from megacity.http_app import ZoneDep, problem_response
from megacity.runtime import ResourcesDep
from services.kzone.mesh_probes import service
from services.kzone.mesh_probes.schemas import ProbeReceipt

router = APIRouter(prefix="/api/v1/kzone", tags=["diagnostics"])


@router.get("/mesh-probes/{probe_id}", response_model=ProbeReceipt,
            summary="Whether a mesh probe's event reached K-Zone",
            responses=problem_response(404, "probe.not_received", "No receipt for this probe in this zone (yet)"))
async def get_probe_receipt(probe_id: uuid.UUID, zone: ZoneDep, res: ResourcesDep) -> ProbeReceipt:
    row = await service.probe_receipt(res.db(), zone, probe_id)
    return ProbeReceipt(probe_id=row.probe_id, zone=zone.key, entry_service=row.entry_service,
                        received_at=row.received_at)
