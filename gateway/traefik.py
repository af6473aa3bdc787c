"""Traefik v3 configuration for every edge — native (`make run`), compose and k8s — rendered
from the zone registry. One renderer, so the three route identically; a `Target` says only where
things are (upstream addresses, entry points, the answers service, object storage, tracing).

Static config: entry points `web` (redirects to https, except natively), `websecure` (TLS: an
ACME resolver in production, Traefik's self-signed default certificate locally) and `ops` (ping +
Prometheus metrics), OTLP tracing, JSON access log, and the file provider.

Dynamic config, per host of every zone:
- api.<domain>: one router per path prefix of `gateway.routes.path_routes` to the owning service,
  with its rate limit and the zone's CORS policy (its own www./app./admin. origins only);
- admin.<domain>: the same API routers, matched only from the admin allow-list (`ClientIP`);
  everyone else falls through to a lower-priority router answering 403 `edge.admin_forbidden`;
- www./app.<domain> and the admin console (admin.'s non-API paths, allow-listed): the registry's
  `pages_service` (web) with the Host header unchanged (it tells web the zone and the kind of
  page), the pages' CSP and the page hosts' rate limit;
- static.<domain>: object storage, bucket `static-<zone>` (natively: files under the state dir);
- the registry's `edge.objects_host`: object storage with the Host kept (presigned URLs).

The edge's own answers are problem JSON from `gateway.edge_answers`: unknown hosts and blocked
paths are routed there; the `errors` middleware sends it Traefik's 502/504 (service down, as 503
`edge.upstream_unavailable`) and the rate limiter's 429 (`edge.rate_limited`) on page and
static hosts. The edge's limits are per client address and only coarse flood ceilings sized for
a school behind one NAT address (zones.yaml); the fine limits are the services' own, per account
and org (`429 rate_limit.exceeded` with Retry-After and RateLimit-* fields, megacity.rate_limit)
and auth's per-account login guard. The errors middleware cannot tell the limiter's 429 from a
service's own, so API routes (every service answers 429 itself) do not get the 429 rewrite:
there the edge limiter's rare 429 is Traefik's plain text with its Retry-After, and the
service's problem JSON and headers pass intact. TRACE and CONNECT are refused by the edge (405
with Allow). A client's X-Forwarded-* headers are dropped (no trusted proxies in front of the
edge). Request bodies are not limited here (that would buffer streamed uploads): each service
limits its own (413 with its own code).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway import policy
from gateway.routes import API_KINDS, BLOCKED_PATHS, PathRoute, api_services, path_routes, slug, static_bucket
from megacity.zones import HostRoute, Registry, Zone, registry

OPS_PORT = 8082
ANSWERS_SERVICE = "edge-answers"
OBJECTS_SERVICE = "objects"
PRESIGNED_SERVICE = "objects-presigned"
CERT_RESOLVER = "letsencrypt"

# Router priorities: longer path prefixes above the host catch-all, everything above the 404.
PRIORITY_UNKNOWN_HOST = 1
PRIORITY_ADMIN_REFUSED = 5
PRIORITY_HOST = 10
PRIORITY_PATH_BASE = 100
PRIORITY_REFUSED_METHOD = 100_000


@dataclass(frozen=True)
class Target:
    """Where the edge runs and what it talks to."""

    name: str
    # `{name}` is replaced by the service name; the port is the registry's HTTP port.
    service_host: str
    answers_url: str
    # None: static.<domain> is served by edge_answers from files (native runs).
    objects_url: str | None
    otlp_endpoint: str | None
    entry_points: tuple[str, ...] = ("websecure",)
    # Explicit "host:port" per service (native runs on chosen ports).
    upstreams: Mapping[str, str] = field(default_factory=dict)
    admin_allow_list: tuple[str, ...] | None = None
    rate_limits: bool = True
    # Where the pages live, as (scheme, port) pairs (policy.PageBase): the CORS allow-list and the
    # pages' CSP name every one (natively: plain HTTP on the listen port and HTTPS on the TLS port).
    page_bases: tuple[policy.PageBase, ...] = policy.PRODUCTION_BASES

    def service_url(self, name: str, port: int) -> str:
        return f"http://{self.upstreams.get(name) or f'{self.service_host.format(name=name)}:{port}'}"


COMPOSE = Target(name="compose", service_host="{name}", answers_url=f"http://{ANSWERS_SERVICE}:8080",
                 objects_url="http://minio:9000", otlp_endpoint="jaeger:4317")
K8S_NAMESPACE = "megacity"
K8S = Target(name="k8s", service_host=f"{{name}}.{K8S_NAMESPACE}.svc.cluster.local",
             answers_url=f"http://{ANSWERS_SERVICE}.{K8S_NAMESPACE}.svc.cluster.local:8080",
             objects_url=f"http://minio.{K8S_NAMESPACE}.svc.cluster.local:9000",
             otlp_endpoint=f"otel-collector.{K8S_NAMESPACE}.svc.cluster.local:4317")


# Request line + headers a client may send to the public entry points (Traefik's default is 1 MiB;
# Go's server allows 4 KiB of slack on top). Past it the edge answers `431 Request Header Fields
# Too Large` (Go's plain-text answer: it comes before any routing or middleware) and closes the
# connection. 16 KiB holds a browser's cookies plus an access token with room to spare, and keeps
# what one connection can make the edge hold (HTTP/2 HPACK expansion included) small.
MAX_HEADER_BYTES = 16 * 1024


def static_config(target: Target = COMPOSE, *, acme: bool = True, dynamic_dir: str = "/etc/traefik/dynamic",
                  addresses: Mapping[str, str] | None = None, log_dir: str | None = None,
                  reg: Registry | None = None) -> dict[str, Any]:
    """traefik.yml. `acme`: certificates from Let's Encrypt (production) or Traefik's self-signed
    default (local). `addresses` overrides entry point addresses; `log_dir` writes logs to files."""
    addr = {"web": ":80", "websecure": ":443", "ops": f":{OPS_PORT}", **(addresses or {})}
    redirect = target.entry_points == ("websecure",)
    tls: dict[str, Any] = {"certResolver": CERT_RESOLVER} if acme else {}
    # Uploads and streamed answers (LLM, SSE, WebSockets) outlive the 60 s default.
    timeouts = {"respondingTimeouts": {"readTimeout": "300s", "idleTimeout": "180s"}}
    # X_Forwarded_For and friends alias the headers Traefik manages: never forward them.
    no_alias = {"aliasHeadersStrategy": "delete"}
    public_http = {**no_alias, "maxHeaderBytes": MAX_HEADER_BYTES}
    web: dict[str, Any] = {"address": addr["web"], "transport": timeouts, "http": dict(public_http)}
    if redirect:
        web["http"]["redirections"] = {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}
    config: dict[str, Any] = {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {
            "web": web,
            "websecure": {"address": addr["websecure"], "http": {"tls": tls, **public_http}, "transport": timeouts},
            "ops": {"address": addr["ops"], "http": dict(no_alias)},
        },
        "ping": {"entryPoint": "ops"},
        "metrics": {"prometheus": {"entryPoint": "ops", "addEntryPointsLabels": True,
                                   "addRoutersLabels": True, "addServicesLabels": True}},
        "log": {"level": "INFO", "format": "json", **({"filePath": f"{log_dir}/traefik.log"} if log_dir else {})},
        # Access log of what needs a look (errors, retries, slow answers); every request is in the
        # traces and the metrics. Logging all of them halved the edge's throughput on 2 cores.
        "accessLog": {
            "format": "json", "bufferingSize": 100,
            "filters": {"statusCodes": ["400-599"], "retryAttempts": True, "minDuration": "500ms"},
            **({"filePath": f"{log_dir}/access.log"} if log_dir else {}),
            "fields": {"headers": {"defaultMode": "drop", "names": {
                "X-Request-Id": "keep", "traceparent": "keep", "User-Agent": "keep"}}},
        },
        "providers": {"file": {"directory": dynamic_dir, "watch": True}},
    }
    if target.otlp_endpoint:
        config["tracing"] = {"serviceName": "traefik", "sampleRate": 1.0, "capturedRequestHeaders": ["X-Request-Id"],
                             "otlp": {"grpc": {"endpoint": target.otlp_endpoint, "insecure": True}}}
    if acme:
        # In the file: Traefik reads its static config from one source only (file, flags or env).
        config["certificatesResolvers"] = {CERT_RESOLVER: {"acme": {
            "email": (reg or registry()).edge.acme_email, "storage": "/data/acme.json", "tlsChallenge": {}}}}
    return config


def _rule(host: str, prefix: str, clients: list[str] | None = None) -> str:
    rule = f"Host(`{host}`)"
    if prefix != "/":
        rule += f" && (Path(`{prefix}`) || PathPrefix(`{prefix.rstrip('/')}/`))"
    if clients is not None:
        rule += " && (" + " || ".join(f"ClientIP(`{cidr}`)" for cidr in clients) + ")"
    return rule


def _service_name(name: str) -> str:
    return f"svc-{name}"


class _HostRouters:
    """Routers for one host, named `<zone>-<host prefix>-<path slug>`."""

    def __init__(self, reg: Registry, target: Target, route: HostRoute) -> None:
        self.reg, self.target, self.route = reg, target, route
        zone = route.zone
        self.name = f"{zone.key}-{route.prefix}" if len(zone.domains) == 1 else f"{zone.key}-{slug(route.host)}"
        allow = target.admin_allow_list if target.admin_allow_list is not None else reg.admin_allow_list
        self.clients = list(allow) if route.kind == "admin" else None
        self.routers: dict[str, dict[str, Any]] = {}

    def add(self, suffix: str, prefix: str, service: str, middlewares: list[str], priority: int,
            *, allow_listed: bool = True) -> None:
        """`allow_listed`: on admin hosts, match only the allow-list's addresses."""
        clients = self.clients if allow_listed else None
        self.routers[f"{self.name}-{suffix}"] = {
            "rule": _rule(self.route.host, prefix, clients), "entryPoints": list(self.target.entry_points),
            "service": service, "middlewares": middlewares, "priority": priority}

    def limits(self, pr: PathRoute, service: str | None) -> list[str]:
        if not (pr.rate_limit and self.target.rate_limits):
            return []
        # A service answers its own 429s (megacity.rate_limit, auth's guard): keep them intact.
        answer = [] if service is not None else ["edge-rate-limited"]
        return answer + [f"ratelimit-{pr.rate_limit.name}"]

    def build(self) -> dict[str, dict[str, Any]]:
        route, zone = self.route, self.route.zone
        web = _service_name(self.reg.pages_service)
        # The pages' headers (CSP), 502/504 as problem JSON, and the edge limiter's 429 as problem
        # JSON (the pages service keeps no per-account limits of its own to protect).
        pages = [f"pages-{zone.key}", "upstream-unavailable"]
        for pr in path_routes(self.reg, route):
            priority = PRIORITY_HOST if pr.prefix == "/" else PRIORITY_PATH_BASE + len(pr.prefix)
            if route.kind in API_KINDS:
                assert pr.service is not None  # path_routes gives every prefix of an API host its service
                api = ["security-headers", f"cors-{zone.key}", "upstream-unavailable", *self.limits(pr, pr.service)]
                if route.kind == "admin" and pr.prefix == "/":
                    # Non-API paths on admin hosts are the admin console (the zone's pages).
                    self.add("console", "/", web, pages + self.limits(pr, None), priority)
                    self.add("api", "/api", _service_name(pr.service), api, PRIORITY_PATH_BASE + len("/api"))
                    continue
                self.add(slug(pr.prefix), pr.prefix, _service_name(pr.service), api, priority)
            elif route.kind == "objects":
                service = OBJECTS_SERVICE if self.target.objects_url else ANSWERS_SERVICE
                tail = ["upstream-unavailable", *self.limits(pr, None), f"bucket-{zone.key}"]
                self.add(slug(pr.prefix), pr.prefix, service, ["security-headers", *tail], priority)
            else:
                self.add(slug(pr.prefix), pr.prefix, web, pages + self.limits(pr, None), priority)
        if route.kind in (*API_KINDS, "pages"):  # hosts in front of a service: its /metrics stays inside
            for blocked in BLOCKED_PATHS:
                self.add(f"blocked-{slug(blocked)}", blocked, ANSWERS_SERVICE, ["security-headers", "not-found"],
                         PRIORITY_PATH_BASE + len(blocked))
        if self.clients is not None:
            self.add("refused", "/", ANSWERS_SERVICE, ["security-headers", "admin-forbidden"], PRIORITY_ADMIN_REFUSED,
                     allow_listed=False)
        return self.routers


def _zone_middlewares(target: Target, zone: Zone, objects_host: str | None = None) -> dict[str, Any]:
    domain = zone.domains[0]
    origins = [o for d in zone.domains for o in policy.page_origins(d, target.page_bases)]
    bucket = (f"/{static_bucket(zone)}" if target.objects_url else f"/_edge/static/{zone.key}")
    return {
        f"cors-{zone.key}": {"headers": {
            "accessControlAllowOriginList": origins,
            "accessControlAllowCredentials": True,
            "accessControlAllowMethods": policy.CORS_METHODS,
            "accessControlAllowHeaders": policy.CORS_REQUEST_HEADERS,
            "accessControlExposeHeaders": policy.CORS_EXPOSED_HEADERS,
            "accessControlMaxAge": policy.CORS_MAX_AGE_SECONDS,
            "addVaryHeader": True}},
        # The security headers with the pages' CSP in place of the API's.
        f"pages-{zone.key}": {"headers": {"customResponseHeaders": {
            **policy.SECURITY_HEADERS,
            "Content-Security-Policy": policy.page_csp(domain, target.page_bases, objects_host)}}},
        f"bucket-{zone.key}": {"addPrefix": {"prefix": bucket}},
    }


def dynamic_config(reg: Registry | None = None, target: Target = COMPOSE) -> dict[str, Any]:
    """dynamic/routes.yml: routers, services, middlewares and TLS options."""
    reg = reg or registry()
    routers: dict[str, Any] = {}
    for route in reg.host_routes():
        routers.update(_HostRouters(reg, target, route).build())
    routers["unknown-host"] = {"rule": "PathPrefix(`/`)", "entryPoints": list(target.entry_points),
                               "service": ANSWERS_SERVICE, "middlewares": ["security-headers", "unknown-host"],
                               "priority": PRIORITY_UNKNOWN_HOST}
    routers["refused-methods"] = {"rule": " || ".join(f"Method(`{m}`)" for m in policy.REFUSED_METHODS),
                                  "entryPoints": list(target.entry_points), "service": ANSWERS_SERVICE,
                                  "middlewares": ["security-headers", "method-not-allowed"],
                                  "priority": PRIORITY_REFUSED_METHOD}

    def lb(url: str, **extra: Any) -> dict[str, Any]:
        return {"loadBalancer": {"servers": [{"url": url}], **extra}}

    services: dict[str, Any] = {
        _service_name(name): lb(target.service_url(name, reg.services[name].http_port)) for name in api_services(reg)}
    if target.objects_url:
        # S3 answers path-style requests; it must not see the public static.<domain> host.
        services[OBJECTS_SERVICE] = lb(target.objects_url, passHostHeader=False)
        # Presigned URLs name the public objects host and their signature covers it: pass it on.
        services[PRESIGNED_SERVICE] = lb(target.objects_url)
        routers["objects-presigned"] = {
            "rule": f"Host(`{reg.edge.objects_host}`)", "entryPoints": list(target.entry_points),
            "service": PRESIGNED_SERVICE, "middlewares": ["security-headers", "upstream-unavailable"],
            "priority": PRIORITY_HOST}
    services[ANSWERS_SERVICE] = lb(target.answers_url)

    middlewares: dict[str, Any] = {
        "security-headers": {"headers": {"customResponseHeaders": dict(policy.SECURITY_HEADERS)}},
        "upstream-unavailable": {"errors": {
            "status": ["502", "504"], "statusRewrites": {"502": 503, "504": 503},
            "service": ANSWERS_SERVICE, "query": "/_edge/upstream-unavailable"}},
        "edge-rate-limited": {"errors": {"status": ["429"], "service": ANSWERS_SERVICE, "query": "/_edge/rate-limited"}},
        "unknown-host": {"replacePath": {"path": "/_edge/unknown-host"}},
        "not-found": {"replacePath": {"path": "/_edge/not-found"}},
        "admin-forbidden": {"replacePath": {"path": "/_edge/admin-forbidden"}},
        "method-not-allowed": {"replacePath": {"path": "/_edge/method-not-allowed"}},
    }
    for rl in reg.rate_limits:
        middlewares[f"ratelimit-{rl.name}"] = {"rateLimit": {"average": rl.rate, "period": "1m", "burst": rl.burst}}
    for z in reg.zones:
        middlewares.update(_zone_middlewares(target, z, reg.edge.objects_host if target.objects_url else None))

    return {
        "http": {"routers": routers, "services": services, "middlewares": middlewares},
        "tls": {"options": {"default": {
            "minVersion": policy.TLS_MIN_VERSION,
            "cipherSuites": list(policy.TLS_CIPHER_SUITES),
            "curvePreferences": list(policy.TLS_CURVES),
            "sniStrict": False,
        }}},
    }
