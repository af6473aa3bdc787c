"""Client channels to peer services: deadlines on every call, a retry policy for transient
UNAVAILABLE, OpenTelemetry client spans, and peer errors turned back into AppError."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from megacity.errors import from_grpc_error

T = TypeVar("T")

_SERVICE_CONFIG = json.dumps({
    # k8s reaches peers through headless Services (one DNS record per pod): spread calls over them,
    # or every client pins to one pod and new replicas get no traffic.
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {
            "maxAttempts": 3,
            "initialBackoff": "0.05s",
            "maxBackoff": "0.5s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }]
})


def make_channel(target: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        target,
        interceptors=aio_client_interceptors(),  # type: ignore[no-untyped-call]
        # Short reconnect backoff: a peer that comes back is used again within ~2 s, not minutes.
        options=[("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1),
                 ("grpc.keepalive_time_ms", 30000), ("grpc.initial_reconnect_backoff_ms", 100),
                 ("grpc.min_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 2000)],
    )


async def call(rpc: Callable[..., Awaitable[T]], request: Any, *, peer: str, timeout: float) -> T:
    """Invoke one unary RPC with a deadline; a failure raises the matching AppError."""
    try:
        return await rpc(request, timeout=timeout)
    except grpc.aio.AioRpcError as err:
        raise from_grpc_error(err, peer) from err
