"""What the edge adds on its own: security headers, TLS settings and problem-JSON answers.

One definition for both edges, so Traefik (compose/k8s) and nginx (native) answer alike.
"""
from __future__ import annotations

import json

# Sent on every edge response (nginx: `add_header ... always`; Traefik: headers middleware).
SECURITY_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
}

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
    """The platform's problem JSON (RFC 9457 + stable `code`), compact and without quotes that
    would break an nginx single-quoted string."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "code": code},
                      separators=(",", ":"))
    assert "'" not in body and "$" not in body
    return body


UNKNOWN_HOST = problem(404, "Not Found", "edge.unknown_host")
NOT_FOUND = problem(404, "Not Found", "edge.not_found")
ADMIN_FORBIDDEN = problem(403, "Forbidden", "edge.admin_forbidden")
RATE_LIMITED = problem(429, "Too Many Requests", "edge.rate_limited")
UPSTREAM_UNAVAILABLE = problem(503, "Service Unavailable", "edge.upstream_unavailable")
PAYLOAD_TOO_LARGE = problem(413, "Content Too Large", "edge.payload_too_large")
METHOD_NOT_ALLOWED = problem(405, "Method Not Allowed", "edge.method_not_allowed")
# What the edge itself refuses (TRACE, CONNECT) answers with the methods the platform serves.
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
