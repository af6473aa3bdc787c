"""The edge route table: for each public host, which path prefixes go where and which rate
limit applies. Every edge (Traefik natively, in compose and in k8s) renders this table.

Path prefixes are segment-bounded like `Registry.service_for_path`: `/api/v1/auth` matches
`/api/v1/auth` and `/api/v1/auth/...`, never `/api/v1/authx`; the longest prefix wins.
"""
from __future__ import annotations

from dataclasses import dataclass

from megacity.zones import HostRoute, RateLimit, Registry, Zone

# Host kinds (values of registry.host_prefixes) that proxy to the API services.
API_KINDS = ("api", "admin")
# Service paths that must not be reachable from the internet (Prometheus scrapes them directly).
BLOCKED_PATHS = ("/metrics",)


@dataclass(frozen=True)
class PathRoute:
    """One path prefix on one host: the owning service (API hosts only) and its rate limit."""

    prefix: str
    service: str | None
    rate_limit: RateLimit | None


def covers(prefix: str, path: str) -> bool:
    """True when `path` is `prefix` or below it (segment-bounded)."""
    return prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def rate_limit_key(route: HostRoute) -> str:
    """Which `rate_limits[].hosts` value applies: admin hosts serve the same API as api hosts."""
    return "api" if route.kind == "admin" else route.prefix


def rate_limits_for(reg: Registry, route: HostRoute) -> list[RateLimit]:
    key = rate_limit_key(route)
    return [rl for rl in reg.rate_limits if rl.hosts == key and rl.applies_to(route.zone)]


def rate_limit_for(reg: Registry, route: HostRoute, path: str) -> RateLimit | None:
    """The most specific rate limit covering `path` on this host (one limit per request)."""
    matching = [rl for rl in rate_limits_for(reg, route) if covers(rl.path, path)]
    return max(matching, key=lambda rl: len(rl.path), default=None)


def path_routes(reg: Registry, route: HostRoute) -> list[PathRoute]:
    """Every prefix the edge needs for this host, longest first, ending with `/`.

    API hosts get one prefix per `api_paths` entry; every host gets one per rate-limit path, so a
    limit can be attached to exactly the requests it covers.
    """
    prefixes = {"/"} | {rl.path for rl in rate_limits_for(reg, route)}
    if route.kind in API_KINDS:
        prefixes |= set(reg.api_paths)
    return [
        PathRoute(
            prefix=p,
            service=reg.service_for_path(route.zone, p) if route.kind in API_KINDS else None,
            rate_limit=rate_limit_for(reg, route, p),
        )
        for p in sorted(prefixes, key=lambda p: (-len(p), p))
    ]


def api_services(reg: Registry) -> list[str]:
    """Services reachable through the edge (in registry order): the API services and the pages
    service (www., app. and the admin console)."""
    used = set(reg.api_paths.values()) | {z.api_service for z in reg.zones} | {reg.pages_service}
    return [name for name in reg.services if name in used]


def static_bucket(zone: Zone) -> str:
    """Object-storage bucket behind static.<domain> (one per zone; named in the registry model)."""
    return zone.static_bucket


def slug(path: str) -> str:
    """A name-safe form of a path prefix, for router and zone names."""
    cleaned = "".join(c if c.isalnum() else "-" for c in path.strip("/")).strip("-")
    return cleaned or "root"
