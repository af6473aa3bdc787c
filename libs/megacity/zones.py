"""The zone registry (zones.yaml) loaded once, and Host -> zone / service resolution.

Everything that needs to know zones, domains or routes asks this module, so the
registry file stays the single source of truth.

`registry()` reads `libs/megacity/zones.yaml`, or the file named by `MEGACITY_ZONES_FILE`
(a deployment's own registry, or a candidate one being tried out), once per process.
`load_registry(path)` validates any other file without touching that cache, and
`registry_from(path)` makes `registry()` answer from another file inside a block (tests,
tools that render or migrate for a candidate registry).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, field_validator

REGISTRY_PATH = Path(__file__).with_name("zones.yaml")
ZONES_FILE_ENV = "MEGACITY_ZONES_FILE"
# A zone key names routers, k8s objects and its `static-<key>` bucket (S3: ≤ 63 chars, lowercase).
_ZONE_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# What a host prefix (www, app, api, static, admin) is: the zone's pages (served by the registry's
# `pages_service`), its API (path-routed to the owning services), the API plus the admin console
# behind the allow-list, or object storage.
HostKind = Literal["pages", "api", "admin", "objects"]
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")


class ServiceSpec(BaseModel):
    name: str = ""
    http_port: int
    grpc_port: int
    public: bool
    gpu: bool = False


class Brand(BaseModel):
    """How a zone's pages look: a colour that keeps WCAG AA contrast (4.5:1) against white, and
    a Korean name (the registry's `name` is the English one)."""

    color: str = Field(default="#1d4ed8", pattern=r"^#[0-9a-f]{6}$")
    name_ko: str = ""


class Zone(BaseModel):
    key: str
    id: int = Field(gt=0)
    name: str
    domains: list[str] = Field(min_length=1)
    api_service: str
    brand: Brand = Field(default_factory=Brand)

    @field_validator("key")
    @classmethod
    def _key_is_a_name(cls, key: str) -> str:
        if not _ZONE_KEY.match(key):
            raise ValueError(f"zone key {key!r}: lowercase letters, digits and '-', at most 40 characters")
        return key

    @field_validator("domains")
    @classmethod
    def _domains_are_host_names(cls, domains: list[str]) -> list[str]:
        bad = [d for d in domains if not _DOMAIN.match(d)]
        if bad:
            raise ValueError(f"not lowercase domain names: {bad}")
        return domains

    @property
    def static_bucket(self) -> str:
        """The object-storage bucket behind static.<domain> (one per zone)."""
        return f"static-{self.key}"


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
    kind: HostKind
    zone: Zone


class EdgeSettings(BaseModel):
    """Deployment-wide edge names: the public object-storage host (presigned URLs name it, so the
    edge passes its Host through to S3) and the ACME account's contact address."""

    objects_host: str = "objects.dreamseedai.com"
    acme_email: str = "sre@dreamseedai.com"


class Registry(BaseModel):
    host_prefixes: dict[str, HostKind]
    services: dict[str, ServiceSpec]
    # The service behind every `pages` host (www., app.) and the admin console (admin.'s non-API paths).
    pages_service: str
    api_paths: dict[str, str]
    rate_limits: list[RateLimit]
    admin_allow_list: list[str]
    zones: list[Zone]
    edge: EdgeSettings = EdgeSettings()

    def model_post_init(self, __context: object) -> None:
        for name, spec in self.services.items():
            spec.name = name
        keys = [z.key for z in self.zones]
        ids = [z.id for z in self.zones]
        if len(set(keys)) != len(keys) or len(set(ids)) != len(ids):
            raise ValueError("zone keys and ids must be unique")
        domains = [d for z in self.zones for d in z.domains]
        if len(set(domains)) != len(domains):
            raise ValueError("a domain belongs to one zone only")
        for z in self.zones:
            if z.api_service not in self.services:
                raise ValueError(f"zone {z.key}: unknown api_service {z.api_service}")
        for path, svc in self.api_paths.items():
            if svc not in self.services:
                raise ValueError(f"api path {path}: unknown service {svc}")
        if self.pages_service not in self.services or not self.services[self.pages_service].public:
            raise ValueError(f"pages_service {self.pages_service}: not a public service of this registry")
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


def registry_path() -> Path:
    """The registry file this process uses: `MEGACITY_ZONES_FILE`, else the bundled zones.yaml."""
    return Path(os.environ.get(ZONES_FILE_ENV) or REGISTRY_PATH)


def load_registry(path: str | Path) -> Registry:
    """Read and validate one registry file (not cached: `registry()` is the process's own)."""
    return Registry.model_validate(yaml.safe_load(Path(path).read_text()))


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The process's registry, read once (see `registry_path`)."""
    return load_registry(registry_path())


@contextmanager
def registry_from(path: str | Path) -> Iterator[Registry]:
    """`registry()` answers from `path` inside the block (through `MEGACITY_ZONES_FILE`, so a
    child process started inside sees it too), and from the previous file afterwards."""
    before = os.environ.get(ZONES_FILE_ENV)
    os.environ[ZONES_FILE_ENV] = str(Path(path).resolve())
    registry.cache_clear()
    try:
        yield registry()
    finally:
        if before is None:
            os.environ.pop(ZONES_FILE_ENV, None)
        else:
            os.environ[ZONES_FILE_ENV] = before
        registry.cache_clear()
