"""HTTP: /api/v1/zone (no token: the zone comes from the Host header, `ZoneDep`)."""
from __future__ import annotations

from fastapi import APIRouter

from megacity.http_app import ZoneDep, problems
from services.tenant.zones.schemas import ZoneOut

router = APIRouter(prefix="/api/v1", tags=["zone"])


@router.get("/zone", response_model=ZoneOut, summary="The zone this host belongs to",
            description="Frontends call this to brand the page; the zone comes from the Host header.",
            responses=problems((404, "zone.unknown_host", "No zone serves this host")))
async def get_zone(zone: ZoneDep) -> ZoneOut:
    return ZoneOut.model_validate(zone)
