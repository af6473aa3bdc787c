"""nginx configuration for the native edge (`make run`), rendered from the zone registry.

The config is a complete nginx.conf meant for `nginx -p <state dir> -c <file> -g 'daemon off;'`
(see `gateway.local_edge`): pid, logs, temp dirs and the default static root are relative
paths, which nginx resolves under the `-p` prefix, so one rendered file works for any state dir.

Routing is `gateway.routes.path_routes` (the same table Traefik renders), one server per host:
- api./admin.<domain>: a location pair (`= /p` and `/p/`) per prefix, proxied to the owning
  service over keepalive upstreams; admin hosts add the IP allow-list;
- www./app.<domain>: a small JSON answer naming the zone (frontends are served elsewhere);
- static.<domain>: files under `<static_root>/<zone key>/`;
- anything else: 404 problem JSON `edge.unknown_host`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from gateway import policy
from gateway.routes import API_KINDS, BLOCKED_PATHS, PathRoute, api_services, path_routes, slug
from megacity.zones import HostRoute, Registry, registry

# A small MIME table so static files get a sensible Content-Type without /etc/nginx/mime.types.
MIME_TYPES = {
    "text/html": "html htm", "text/css": "css", "text/plain": "txt", "application/javascript": "js mjs",
    "application/json": "json map", "application/wasm": "wasm", "image/png": "png", "image/jpeg": "jpg jpeg",
    "image/gif": "gif", "image/webp": "webp", "image/avif": "avif", "image/svg+xml": "svg",
    "image/x-icon": "ico", "font/woff": "woff", "font/woff2": "woff2", "audio/mpeg": "mp3",
    "audio/wav": "wav", "audio/ogg": "ogg", "video/mp4": "mp4", "video/webm": "webm", "application/pdf": "pdf",
}

LOG_FORMAT = (
    '{"time":"$time_iso8601","remote_addr":"$remote_addr","host":"$host","method":"$request_method",'
    '"uri":"$request_uri","status":$status,"bytes":$body_bytes_sent,"duration":$request_time,'
    '"upstream":"$upstream_addr","upstream_duration":"$upstream_response_time",'
    '"request_id":"$http_x_request_id","traceparent":"$http_traceparent","user_agent":"$http_user_agent"}'
)


@dataclass(frozen=True)
class EdgeConfig:
    """Knobs of the native edge. Defaults: registry ports on 127.0.0.1, registry allow-list."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    # service name -> "host:port" of its HTTP server; missing services default to 127.0.0.1:<http_port>.
    upstreams: dict[str, str] = field(default_factory=dict)
    admin_allow_list: list[str] | None = None
    # Relative paths are under the nginx prefix (the state dir).
    static_root: str = "static"
    worker_processes: str = "auto"
    # Load tests from one address would otherwise measure the limiter, not the edge.
    rate_limits: bool = True
    # Only for a root master (workers would otherwise run as `nobody`); None = nginx default.
    user: str | None = None


def _q(value: str) -> str:
    """nginx double-quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _upstream_name(service: str) -> str:
    return f"svc_{service.replace('-', '_')}"


def _zone_name(rate_limit_name: str) -> str:
    return f"rl_{slug(rate_limit_name).replace('-', '_')}"


def _security_headers(indent: str) -> list[str]:
    return [f"{indent}add_header {name} {_q(value)} always;" for name, value in policy.SECURITY_HEADERS.items()]


def _return(status: int, body: str, content_type: str = policy.PROBLEM_CONTENT_TYPE) -> list[str]:
    # The empty `types` stops the request's file extension (/x.png) from choosing the type.
    return ["types { }", f"default_type {content_type};", f"return {status} '{body}';"]


def _location(match: str, body: list[str], indent: str = "        ") -> list[str]:
    return [f"{indent}location {match} {{", *(f"{indent}    {line}" for line in body), f"{indent}}}"]


def _rate_limited() -> list[str]:
    # add_header here replaces the inherited ones, so the security headers are repeated.
    return _location("@rate_limited", [*(line.strip() for line in _security_headers("")),
                                       'add_header Retry-After "60" always;', *_return(429, policy.RATE_LIMITED)])


def _method_not_allowed() -> list[str]:
    # nginx refuses TRACE itself; its 405 says which methods are served (RFC 9110 §15.5.6).
    return _location("@method_not_allowed", [*(line.strip() for line in _security_headers("")),
                                             f'add_header Allow "{policy.ALLOWED_METHODS}" always;',
                                             *_return(405, policy.METHOD_NOT_ALLOWED)])


def _error_pages(routes: list[PathRoute], cfg: EdgeConfig,
                 named: dict[str, list[str]] | None = None) -> tuple[list[str], list[str]]:
    """`error_page` lines and the named locations they point at, only those this server needs.
    Only nginx's own errors reach them (no proxy_intercept_errors): a service's answer passes."""
    named = dict(named or {})
    if cfg.rate_limits and any(pr.rate_limit for pr in routes):
        named["429"] = _rate_limited()
    named["413"] = _location("@too_large", _return(413, policy.PAYLOAD_TOO_LARGE))
    named["405"] = _method_not_allowed()
    targets = {"429": "@rate_limited", "403": "@admin_forbidden", "404": "@not_found",
               "502 503 504": "@upstream_unavailable", "413": "@too_large", "405": "@method_not_allowed"}
    pages = [f"        error_page {codes} = {targets[codes]};" for codes in named]
    return pages, [line for lines in named.values() for line in lines]


def _limit(pr: PathRoute, cfg: EdgeConfig) -> list[str]:
    if not (pr.rate_limit and cfg.rate_limits):
        return []
    return [f"limit_req zone={_zone_name(pr.rate_limit.name)} burst={pr.rate_limit.burst} nodelay;"]


def _prefix_locations(pr: PathRoute, body: list[str]) -> list[str]:
    if pr.prefix == "/":
        return _location("/", body)
    return _location(f"= {pr.prefix}", body) + _location(f"{pr.prefix.rstrip('/')}/", body)


def _api_server(reg: Registry, route: HostRoute, cfg: EdgeConfig, allow: list[str]) -> list[str]:
    routes = path_routes(reg, route)
    named = {"502 503 504": _location("@upstream_unavailable", _return(503, policy.UPSTREAM_UNAVAILABLE))}
    lines: list[str] = []
    if route.kind == "admin":
        named["403"] = _location("@admin_forbidden", _return(403, policy.ADMIN_FORBIDDEN))
        lines += [f"        allow {cidr};" for cidr in allow] + ["        deny all;"]
    pages, named_locations = _error_pages(routes, cfg, named)
    lines = pages + lines
    for blocked in BLOCKED_PATHS:
        lines += _location(f"= {blocked}", _return(404, policy.NOT_FOUND))
    for pr in routes:
        assert pr.service is not None  # path_routes gives every prefix of an API host its service
        lines += _prefix_locations(pr, _limit(pr, cfg) + [f"proxy_pass http://{_upstream_name(pr.service)};"])
    return lines + named_locations


def _frontend_server(reg: Registry, route: HostRoute, cfg: EdgeConfig) -> list[str]:
    body = json.dumps({"zone": route.zone.key, "zone_id": route.zone.id, "host": route.host,
                       "detail": f"the {route.prefix} frontend is served by the zone frontend, not by this edge"},
                      separators=(",", ":"))
    routes = path_routes(reg, route)
    lines, named_locations = _error_pages(routes, cfg)
    for pr in routes:
        # `return` runs before limit_req, so the answer comes from a named location reached via
        # try_files (the file never exists) — that keeps the rate limit in force.
        lines += _prefix_locations(pr, _limit(pr, cfg) + ["try_files /.frontend @frontend;"])
    return lines + _location("@frontend", _return(200, body, "application/json")) + named_locations


def _static_server(reg: Registry, route: HostRoute, cfg: EdgeConfig) -> list[str]:
    root = f"{cfg.static_root.rstrip('/')}/{route.zone.key}"
    routes = path_routes(reg, route)
    pages, named_locations = _error_pages(routes, cfg, {"404": _location("@not_found", _return(404, policy.NOT_FOUND))})
    lines = [f"        root {_q(root)};", *pages]
    for pr in routes:
        lines += _prefix_locations(pr, _limit(pr, cfg) + ["expires 1h;", "try_files $uri =404;"])
    return lines + named_locations


def render_nginx_conf(cfg: EdgeConfig | None = None, reg: Registry | None = None) -> str:
    """The whole nginx.conf for the native edge."""
    cfg = cfg or EdgeConfig()
    reg = reg or registry()
    allow = list(reg.admin_allow_list if cfg.admin_allow_list is None else cfg.admin_allow_list)
    listen = f"{cfg.listen_host}:{cfg.listen_port}" if cfg.listen_host else str(cfg.listen_port)
    out = [
        "# Generated by `python -m gateway` from libs/megacity/zones.yaml; do not edit.",
        "# Run: nginx -p <state dir> -c <this file> -g 'daemon off;'  (relative paths are under -p)",
        *([f"user {cfg.user};"] if cfg.user else []),
        f"worker_processes {cfg.worker_processes};",
        "pid nginx.pid;",
        "error_log logs/error.log warn;",
        "",
        "events {",
        "    worker_connections 4096;",
        "    multi_accept on;",
        "}",
        "",
        "http {",
        "    client_body_temp_path tmp/client_body;",
        "    proxy_temp_path tmp/proxy;",
        "    fastcgi_temp_path tmp/fastcgi;",
        "    uwsgi_temp_path tmp/uwsgi;",
        "    scgi_temp_path tmp/scgi;",
        "",
        "    types {",
        *(f"        {mime} {exts};" for mime, exts in MIME_TYPES.items()),
        "    }",
        "    default_type application/octet-stream;",
        "    server_tokens off;",
        "    server_names_hash_bucket_size 128;",
        "    sendfile on;",
        "    tcp_nopush on;",
        "    tcp_nodelay on;",
        "    keepalive_timeout 65s;",
        "    keepalive_requests 10000;",
        "    client_max_body_size 200m;",
        "",
        f"    log_format edge_json escape=json '{LOG_FORMAT}';",
        "    access_log logs/access.log edge_json buffer=64k flush=1s;",
        "",
        "    # WebSockets: forward Upgrade; plain requests keep the upstream connection alive.",
        "    map $http_upgrade $connection_upgrade {",
        "        default upgrade;",
        "        '' '';",
        "    }",
        "",
        "    proxy_http_version 1.1;",
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Real-IP $remote_addr;",
        "    # The edge writes the address it saw; a client's own X-Forwarded-For never passes through.",
        "    proxy_set_header X-Forwarded-For $remote_addr;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_set_header X-Forwarded-Host $host;",
        "    proxy_set_header Upgrade $http_upgrade;",
        "    proxy_set_header Connection $connection_upgrade;",
        "    # Passed through untouched (listed so they survive any future proxy_set_header change).",
        "    proxy_set_header traceparent $http_traceparent;",
        "    proxy_set_header tracestate $http_tracestate;",
        "    proxy_set_header X-Request-Id $http_x_request_id;",
        "    proxy_connect_timeout 5s;",
        "    proxy_send_timeout 300s;",
        "    proxy_read_timeout 300s;",
        "",
        "    limit_req_status 429;",
        "    limit_req_log_level notice;",
        *(f'    limit_req_zone "$binary_remote_addr$host" zone={_zone_name(rl.name)}:10m rate={rl.rate}r/m;'
          for rl in reg.rate_limits),
        "",
    ]
    for service in api_services(reg):
        address = cfg.upstreams.get(service, f"127.0.0.1:{reg.services[service].http_port}")
        # max_fails=0: a restarted service is used again at once (no 10 s quarantine).
        out += [f"    upstream {_upstream_name(service)} {{", f"        server {address} max_fails=0;",
                "        keepalive 64;", "        keepalive_requests 10000;", "        keepalive_timeout 60s;",
                "    }"]
    out += ["", *_security_headers("    "), ""]
    out += ["    server {", f"        listen {listen} default_server;", "        server_name _;",
            *(f"        {line}" for line in _return(404, policy.UNKNOWN_HOST)), "    }"]
    for route in reg.host_routes():
        if route.kind in API_KINDS:
            body = _api_server(reg, route, cfg, allow)
        elif route.kind == "objects":
            body = _static_server(reg, route, cfg)
        else:
            body = _frontend_server(reg, route, cfg)
        out += ["", f"    # {route.zone.key}: {route.host} ({route.kind})", "    server {",
                f"        listen {listen};", f"        server_name {route.host};", *body, "    }"]
    out += ["}", ""]
    return "\n".join(out)


def render_errors_conf() -> str:
    """Server block for the `edge-errors` container behind Traefik (nginx-unprivileged, :8080):
    the same problem bodies as the native edge, for Traefik's catch-all and errors middleware."""
    lines = ["# Generated by `python -m gateway` (gateway/nginx.py); do not edit.",
             "# Mounted as /etc/nginx/conf.d/default.conf of the edge-errors container.",
             "server {", "    listen 8080 default_server;", "    server_tokens off;"]
    locations = [("= /healthz", _return(200, "ok", "text/plain")),
                 ("= /errors/upstream-unavailable", _return(503, policy.UPSTREAM_UNAVAILABLE)),
                 ("= /errors/not-found", _return(404, policy.NOT_FOUND)),
                 ("/", _return(404, policy.UNKNOWN_HOST))]
    for match, body in locations:
        lines += _location(match, body, "    ")
    return "\n".join(lines + ["}", ""])
