"""Zones by id or key, from the zone registry (None when there is no such zone: each face says
so its own way — gRPC `zone.not_found`; over HTTP the zone comes from the Host, `ZoneDep`)."""
from __future__ import annotations

from megacity.zones import Zone, registry


def zone_by_id(zone_id: int) -> Zone | None:
    try:
        return registry().zone_by_id(zone_id)
    except KeyError:
        return None


def zone_by_key(zone_key: str) -> Zone | None:
    try:
        return registry().zone(zone_key)
    except KeyError:
        return None
