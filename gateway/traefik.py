"""Traefik v3 configuration for the compose / k8s edge, rendered from the zone registry.

Static config (traefik.yml): entry points `web` (:80, redirects to https), `websecure` (:443,
TLS) and `ops` (:8082, ping + Prometheus metrics), OTLP tracing to Jaeger, JSON access log,
and the file provider reading /etc/traefik/dynamic.

Dynamic config (dynamic/routes.yml), per host of every zone:
- api.<domain>: one router per path prefix of `gateway.routes.path_routes` to the owning
  service (compose hostname = service name, its http port), rate limits attached per prefix;
- admin.<domain>: the same API routers behind the `admin-allow-list` ipAllowList middleware,
  and the admin console (the zone frontend) for everything that is not API;
- www./app.<domain>: the zone's frontend, `http://frontend-<zone>:3000` (not in this repo);
- static.<domain>: MinIO, bucket `static-<zone>` (path-style, added with addPrefix).

Edge answers of our own come from `edge-errors`, a tiny nginx container whose config
(`edge-errors.conf`) is rendered by `gateway.nginx.render_errors_conf` from the same
problem bodies as the native edge: the lowest-priority catch-all router sends unknown hosts
there (404 `edge.unknown_host`), and the `upstream-unavailable` errors middleware turns a
gateway 502/504 (service down / timed out) into 503 `edge.upstream_unavailable`. Services' own
4xx/5xx bodies are never replaced. Traefik's rateLimit (429) and ipAllowList (403) answer in
plain text; the problem-JSON versions exist in the native nginx edge only.

WebSockets need nothing: Traefik forwards Upgrade requests natively. `X-Request-Id` and
`traceparent` pass through unchanged (Traefik's tracing keeps the trace id and adds its span).
"""
from __future__ import annotations

from typing import Any

from gateway import policy
from gateway.routes import API_KINDS, BLOCKED_PATHS, PathRoute, api_services, path_routes, slug, static_bucket
from megacity.zones import HostRoute, Registry, registry

ENTRYPOINT = "websecure"
OPS_PORT = 8082
JAEGER_OTLP_GRPC = "jaeger:4317"
ERRORS_SERVICE = "edge-errors"
ERRORS_URL = "http://edge-errors:8080"
OBJECTS_SERVICE = "objects"
OBJECTS_URL = "http://minio:9000"

# Router priorities: longer path prefixes above the host catch-all, everything above the 404.
PRIORITY_UNKNOWN_HOST = 1
PRIORITY_HOST = 10
PRIORITY_PATH_BASE = 100


def frontend_url(zone_key: str) -> str:
    """Placeholder address of a zone's frontend (owned by the frontend teams)."""
    return f"http://frontend-{zone_key}:3000"


def static_config() -> dict[str, Any]:
    """traefik.yml: entry points, TLS, observability and the file provider."""
    return {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {
            "web": {
                "address": ":80",
                "http": {"redirections": {"entryPoint": {"to": ENTRYPOINT, "scheme": "https", "permanent": True}}},
            },
            ENTRYPOINT: {
                "address": ":443",
                "http": {"tls": {}},
                # Uploads and streamed answers (LLM, WebSockets) outlive the 60 s default.
                "transport": {"respondingTimeouts": {"readTimeout": "300s", "idleTimeout": "180s"}},
            },
            "ops": {"address": f":{OPS_PORT}"},
        },
        "ping": {"entryPoint": "ops"},
        "metrics": {"prometheus": {"entryPoint": "ops", "addEntryPointsLabels": True,
                                   "addRoutersLabels": True, "addServicesLabels": True}},
        "tracing": {
            "serviceName": "traefik",
            "sampleRate": 1.0,
            "capturedRequestHeaders": ["X-Request-Id"],
            "otlp": {"grpc": {"endpoint": JAEGER_OTLP_GRPC, "insecure": True}},
        },
        "log": {"level": "INFO", "format": "json"},
        "accessLog": {
            "format": "json",
            "fields": {"headers": {"defaultMode": "drop", "names": {
                "X-Request-Id": "keep", "traceparent": "keep", "User-Agent": "keep"}}},
        },
        "providers": {"file": {"directory": "/etc/traefik/dynamic", "watch": True}},
    }


def _rule(host: str, prefix: str) -> str:
    if prefix == "/":
        return f"Host(`{host}`)"
    return f"Host(`{host}`) && (Path(`{prefix}`) || PathPrefix(`{prefix.rstrip('/')}/`))"


def _service_name(name: str) -> str:
    return f"svc-{name}"


def _router(host: str, prefix: str, service: str, middlewares: list[str], priority: int) -> dict[str, Any]:
    return {"rule": _rule(host, prefix), "entryPoints": [ENTRYPOINT], "service": service,
            "middlewares": middlewares, "priority": priority}


def _host_routers(reg: Registry, route: HostRoute) -> dict[str, dict[str, Any]]:
    """Routers for one host, named `<zone>-<host prefix>-<path slug>`."""
    zone, host = route.zone, route.host
    base = ["security-headers"] + (["admin-allow-list"] if route.kind == "admin" else [])
    tail = ([f"bucket-{zone.key}"] if route.kind == "objects" else []) + ["upstream-unavailable"]
    name = f"{zone.key}-{route.prefix}" if len(zone.domains) == 1 else f"{zone.key}-{slug(host)}"
    routers: dict[str, dict[str, Any]] = {}

    def limits(pr: PathRoute) -> list[str]:
        return [f"ratelimit-{pr.rate_limit.name}"] if pr.rate_limit else []

    for pr in path_routes(reg, route):
        priority = PRIORITY_HOST if pr.prefix == "/" else PRIORITY_PATH_BASE + len(pr.prefix)
        if route.kind in API_KINDS:
            assert pr.service is not None  # path_routes gives every prefix of an API host its service
            service = _service_name(pr.service)
            if route.kind == "admin" and pr.prefix == "/":
                # Non-API paths on admin hosts are the admin console (part of the zone frontend);
                # everything under /api still goes to the zone's API service.
                routers[f"{name}-console"] = _router(
                    host, "/", f"frontend-{zone.key}", base + limits(pr) + tail, priority)
                routers[f"{name}-api"] = _router(
                    host, "/api", service, base + limits(pr) + tail, PRIORITY_PATH_BASE + len("/api"))
                continue
        elif route.kind == "objects":
            service = OBJECTS_SERVICE
        else:
            service = f"frontend-{zone.key}"
        routers[f"{name}-{slug(pr.prefix)}"] = _router(host, pr.prefix, service, base + limits(pr) + tail, priority)
    if route.kind in API_KINDS:
        for blocked in BLOCKED_PATHS:
            routers[f"{name}-blocked-{slug(blocked)}"] = _router(
                host, blocked, ERRORS_SERVICE, ["security-headers", "not-found"],
                PRIORITY_PATH_BASE + len(blocked))
    return routers


def dynamic_config(reg: Registry | None = None) -> dict[str, Any]:
    """dynamic/routes.yml: routers, services, middlewares and TLS options."""
    reg = reg or registry()
    routers: dict[str, Any] = {}
    for route in reg.host_routes():
        routers.update(_host_routers(reg, route))
    routers["unknown-host"] = {"rule": "PathPrefix(`/`)", "entryPoints": [ENTRYPOINT], "service": ERRORS_SERVICE,
                               "middlewares": ["security-headers"], "priority": PRIORITY_UNKNOWN_HOST}

    def lb(url: str, **extra: Any) -> dict[str, Any]:
        return {"loadBalancer": {"servers": [{"url": url}], **extra}}

    services: dict[str, Any] = {
        _service_name(name): lb(f"http://{name}:{reg.services[name].http_port}") for name in api_services(reg)
    }
    services.update({f"frontend-{z.key}": lb(frontend_url(z.key)) for z in reg.zones})
    # MinIO answers path-style requests; it must not see the public static.<domain> host.
    services[OBJECTS_SERVICE] = lb(OBJECTS_URL, passHostHeader=False)
    services[ERRORS_SERVICE] = lb(ERRORS_URL)

    middlewares: dict[str, Any] = {
        "security-headers": {"headers": {"customResponseHeaders": dict(policy.SECURITY_HEADERS)}},
        "admin-allow-list": {"ipAllowList": {"sourceRange": list(reg.admin_allow_list)}},
        "upstream-unavailable": {"errors": {
            "status": ["502", "504"], "statusRewrites": {"502": 503, "504": 503},
            "service": ERRORS_SERVICE, "query": "/errors/upstream-unavailable"}},
        "not-found": {"replacePath": {"path": "/errors/not-found"}},
    }
    for rl in reg.rate_limits:
        middlewares[f"ratelimit-{rl.name}"] = {"rateLimit": {"average": rl.rate, "period": "1m", "burst": rl.burst}}
    for z in reg.zones:
        middlewares[f"bucket-{z.key}"] = {"addPrefix": {"prefix": f"/{static_bucket(z)}"}}

    return {
        "http": {"routers": routers, "services": services, "middlewares": middlewares},
        "tls": {"options": {"default": {
            "minVersion": policy.TLS_MIN_VERSION,
            "cipherSuites": list(policy.TLS_CIPHER_SUITES),
            "curvePreferences": list(policy.TLS_CURVES),
            "sniStrict": False,
        }}},
    }
