"""What the edge adds on its own: security headers, browser policy (CORS, CSP), TLS settings and
problem-JSON answers. One definition, rendered into Traefik's config for every target (native,
compose, k8s) and served by `gateway.edge_answers`."""
from __future__ import annotations

import json

# Sent on every edge response (Traefik headers middleware `security-headers`). API answers are
# JSON: nothing in them may load anything. Pages get `page_csp` instead.
SECURITY_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
}

# Browser-facing hosts of a zone (its www., app. and admin. pages) may call its api. host with
# credentials; nothing else may. Preflights are answered by the edge and cached for 10 minutes.
PAGE_HOST_PREFIXES = ("www", "app", "admin")
CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# X-Requested-With: the pages' client (services/web mc.js) sends it on every call; auth requires it
# where the refresh cookie authenticates (refresh, logout), as CSRF protection: a cross-site form
# cannot set it, and a cross-site fetch that does needs a preflight this policy refuses.
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Request-Id",
                        "X-Requested-With", "traceparent", "tracestate"]
# RateLimit-*: the services' per-account limits (draft-ietf-httpapi-ratelimit-headers-07).
# Content-Disposition: the file name of a download (report.csv, an activation sheet) that a page
# fetches with its bearer token and saves as a Blob.
CORS_EXPOSED_HEADERS = ["Retry-After", "X-Request-Id", "Location", "ETag", "RateLimit-Limit", "RateLimit-Remaining",
                        "RateLimit-Reset", "RateLimit-Policy", "Content-Disposition"]
CORS_MAX_AGE_SECONDS = 600


# Where the pages live: (scheme, port) pairs; port None is the scheme's default. Production
# serves HTTPS only; the native edge serves plain HTTP on its listen port and HTTPS (self-signed)
# on its TLS port, and a page on either may call the api. host on the same one.
PageBase = tuple[str, int | None]
PRODUCTION_BASES: tuple[PageBase, ...] = (("https", None),)


def _base_urls(host: str, bases: tuple[PageBase, ...], *, websocket: bool = False) -> list[str]:
    urls = []
    for scheme, port in bases:
        if websocket:
            scheme = "wss" if scheme == "https" else "ws"
        urls.append(f"{scheme}://{host}" + (f":{port}" if port else ""))
    return urls


def page_origins(domain: str, bases: tuple[PageBase, ...] = PRODUCTION_BASES) -> list[str]:
    """The origins of a domain's pages (`https://www.<domain>`, ...), on every base."""
    return [origin for prefix in PAGE_HOST_PREFIXES for origin in _base_urls(f"{prefix}.{domain}", bases)]


def page_csp(domain: str, bases: tuple[PageBase, ...] = PRODUCTION_BASES, objects_host: str | None = None) -> str:
    """CSP of a zone's pages: code and assets from the page itself or `static.<domain>`, calls to
    `api.<domain>` (fetch, SSE, WebSocket), never framed; on every base the edge serves. Images
    and media may also come from `objects_host`, where presigned URLs of uploads point (a K-Zone
    pose result shows the student's own photo from there)."""
    api = " ".join(_base_urls(f"api.{domain}", bases))
    ws = " ".join(_base_urls(f"api.{domain}", bases, websocket=True))
    static = " ".join(_base_urls(f"static.{domain}", bases))
    media = static + ("".join(" " + u for u in _base_urls(objects_host, bases)) if objects_host else "")
    return "; ".join([
        "default-src 'self'", f"script-src 'self' {static}", f"style-src 'self' {static}",
        f"img-src 'self' data: blob: {media}", f"font-src 'self' {static}", f"media-src 'self' blob: {media}",
        f"connect-src 'self' {api} {ws}", "frame-ancestors 'none'", "base-uri 'self'", "object-src 'none'",
        "form-action 'self'",
    ])


# TLS 1.2+ with forward-secret AEAD suites only (TLS 1.3 suites are not configurable in Go).
TLS_MIN_VERSION = "VersionTLS12"
TLS_CIPHER_SUITES = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
]
TLS_CURVES = ["X25519", "CurveP256", "CurveP384"]

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem(status: int, title: str, code: str) -> str:
    """The platform's problem JSON (RFC 9457 + stable `code`), compact."""
    return json.dumps({"type": "about:blank", "title": title, "status": status, "code": code},
                      separators=(",", ":"))


UNKNOWN_HOST = problem(404, "Not Found", "edge.unknown_host")
NOT_FOUND = problem(404, "Not Found", "edge.not_found")
ADMIN_FORBIDDEN = problem(403, "Forbidden", "edge.admin_forbidden")
RATE_LIMITED = problem(429, "Too Many Requests", "edge.rate_limited")
UPSTREAM_UNAVAILABLE = problem(503, "Service Unavailable", "edge.upstream_unavailable")
METHOD_NOT_ALLOWED = problem(405, "Method Not Allowed", "edge.method_not_allowed")
# Methods the edge refuses itself (never forwarded); its 405 lists the ones the platform serves.
REFUSED_METHODS = ("TRACE", "CONNECT")
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
# Seconds a client should wait after the edge's own 429 (the limits are per minute).
RATE_LIMIT_RETRY_AFTER = 60
