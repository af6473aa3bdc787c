"""Tenant public HTTP API (under api.<domain>)."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from megacity.http_app import problem_response, request_zone
from megacity.zones import Zone

router = APIRouter(prefix="/api/v1", tags=["zone"])


class ZoneOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"key": "univ", "id": 1, "name": "University Prep", "domains": ["univprepai.com"]}]})

    key: str
    id: int
    name: str
    domains: list[str]


@router.get("/zone", response_model=ZoneOut, summary="The zone this host belongs to",
            description="Frontends call this to brand the page; the zone comes from the Host header.",
            responses=problem_response(404, "zone.unknown_host", "No zone serves this host"))
async def get_zone(zone: Zone = Depends(request_zone)) -> ZoneOut:
    return ZoneOut(key=zone.key, id=zone.id, name=zone.name, domains=zone.domains)
