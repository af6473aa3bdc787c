"""The zone registry (zones.yaml) loaded once, and Host -> zone / service resolution.

Everything that needs to know zones, domains or routes asks this module, so the
registry file stays the single source of truth.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

REGISTRY_PATH = Path(__file__).with_name("zones.yaml")


class ServiceSpec(BaseModel):
    name: str = ""
    http_port: int
    grpc_port: int
    public: bool
    gpu: bool = False


class Zone(BaseModel):
    key: str
    id: int = Field(gt=0)
    name: str
    domains: list[str]
    api_service: str


class RateLimit(BaseModel):
    name: str
    hosts: str
    path: str
    rate: int
    burst: int
    block_seconds: int | None = None
    zones: list[str] | None = None

    def applies_to(self, zone: Zone) -> bool:
        return self.zones is None or zone.key in self.zones


class HostRoute(BaseModel):
    """One public host name and what serves it."""

    host: str
    prefix: str
    kind: str
    zone: Zone


class Registry(BaseModel):
    host_prefixes: dict[str, str]
    services: dict[str, ServiceSpec]
    api_paths: dict[str, str]
    rate_limits: list[RateLimit]
    admin_allow_list: list[str]
    zones: list[Zone]

    def model_post_init(self, __context: object) -> None:
        for name, spec in self.services.items():
            spec.name = name
        keys = [z.key for z in self.zones]
        ids = [z.id for z in self.zones]
        if len(set(keys)) != len(keys) or len(set(ids)) != len(ids):
            raise ValueError("zone keys and ids must be unique")
        for z in self.zones:
            if z.api_service not in self.services:
                raise ValueError(f"zone {z.key}: unknown api_service {z.api_service}")
        for path, svc in self.api_paths.items():
            if svc not in self.services:
                raise ValueError(f"api path {path}: unknown service {svc}")
        self._by_host = {r.host: r for r in self.host_routes()}

    def host_routes(self) -> list[HostRoute]:
        """Every public host of every zone (www/app/api/static/admin for each domain)."""
        return [
            HostRoute(host=f"{prefix}.{domain}", prefix=prefix, kind=kind, zone=zone)
            for zone in self.zones
            for domain in zone.domains
            for prefix, kind in self.host_prefixes.items()
        ]

    def zone(self, key: str) -> Zone:
        for z in self.zones:
            if z.key == key:
                return z
        raise KeyError(key)

    def zone_by_id(self, zone_id: int) -> Zone:
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)

    def resolve_host(self, host: str | None) -> HostRoute | None:
        """Host header (port and case ignored) -> its route, or None for an unknown host."""
        if not host:
            return None
        name = host.strip().lower().rsplit(":", 1)[0] if not host.startswith("[") else host.lower()
        return self._by_host.get(name.rstrip("."))

    def service_for_path(self, zone: Zone, path: str) -> str:
        """Which service owns an API path on this zone's api./admin. hosts (longest prefix wins)."""
        best = ""
        for prefix in self.api_paths:
            if (path == prefix or path.startswith(prefix.rstrip("/") + "/")) and len(prefix) > len(best):
                best = prefix
        return self.api_paths[best] if best else zone.api_service


@lru_cache(maxsize=1)
def registry() -> Registry:
    return Registry.model_validate(yaml.safe_load(REGISTRY_PATH.read_text()))
