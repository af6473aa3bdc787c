"""One error model for the whole mesh: `AppError` with a stable code, shown to HTTP clients as
problem JSON (RFC 9457) and carried over gRPC as a status code plus the same code and detail
in trailing metadata, so an error raised three hops away reaches the browser unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc

# HTTP status <-> gRPC status, both ways (the usual mapping from google.rpc / grpc-gateway).
_HTTP_TO_GRPC = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ALREADY_EXISTS,
    412: grpc.StatusCode.FAILED_PRECONDITION,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    500: grpc.StatusCode.INTERNAL,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}
_GRPC_TO_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
CODE_KEY = "x-error-code"
DETAIL_KEY = "x-error-detail"


@dataclass
class AppError(Exception):
    """An error meant for the caller: HTTP status, stable dotted code, human detail."""

    status: int
    code: str
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": _title(self.status),
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body

    @property
    def grpc_status(self) -> grpc.StatusCode:
        return _HTTP_TO_GRPC.get(self.status, grpc.StatusCode.INTERNAL if self.status >= 500 else grpc.StatusCode.INVALID_ARGUMENT)

    def grpc_trailers(self) -> tuple[tuple[str, str], ...]:
        return ((CODE_KEY, self.code), (DETAIL_KEY, self.detail[:1000]))


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Closed Request" if status == 499 else "Error"


def dependency_unavailable(name: str, exc: BaseException | None = None) -> AppError:
    """A dependency (database, Redis, NATS, peer service) is down: 503, never a bare 500."""
    return AppError(503, f"dependency.{name}_unavailable", f"{name} is unavailable; retry shortly")


def from_grpc_error(err: grpc.aio.AioRpcError | grpc.RpcError, peer: str) -> AppError:
    """Turn a peer's gRPC failure into the AppError it started as (or the closest one)."""
    code = err.code()
    meta = {k: v for k, v in (err.trailing_metadata() or ())}
    status = _GRPC_TO_HTTP.get(code, 502)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and CODE_KEY not in meta:
        return AppError(503 if code == grpc.StatusCode.UNAVAILABLE else 504, f"dependency.{peer}_unavailable",
                        f"{peer} did not answer")
    return AppError(status, str(meta.get(CODE_KEY, f"upstream.{peer}_error")), str(meta.get(DETAIL_KEY, err.details() or "")))
