"""K-Zone public HTTP API (under api.my-ktube.com / api.my-ktube.ai)."""
from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response, request_zone
from megacity.runtime import Resources, resources
from megacity.zones import Zone

router = APIRouter(prefix="/api/v1/kzone", tags=["diagnostics"])


class ProbeReceipt(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "probe_id": "0b7f6f8e-3f0c-4c57-9a5e-1d2a3b4c5d6e", "zone": "univ", "entry_service": "exam",
        "received_at": "2026-11-27T12:00:00Z"}]})

    probe_id: uuid.UUID
    zone: str
    entry_service: str
    received_at: datetime


@router.get("/mesh-probes/{probe_id}", response_model=ProbeReceipt,
            summary="Whether a mesh probe's event reached K-Zone",
            responses=problem_response(404, "probe.not_received", "No receipt for this probe in this zone (yet)"))
async def get_probe_receipt(probe_id: uuid.UUID, zone: Zone = Depends(request_zone),
                            res: Resources = Depends(resources)) -> ProbeReceipt:
    async with tenant_transaction(res.db(), TenantContext(zone_id=zone.id)) as session:
        row = (await session.execute(text(
            "SELECT probe_id, entry_service, received_at FROM kzone.mesh_probe_receipts WHERE probe_id = :id"),
            {"id": probe_id})).first()
    if row is None:
        raise AppError(404, "probe.not_received", f"probe {probe_id} has not reached kzone in zone {zone.key}")
    return ProbeReceipt(probe_id=row.probe_id, zone=zone.key, entry_service=row.entry_service,
                        received_at=row.received_at)
