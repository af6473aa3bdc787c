"""Who is on the other end of a request: client address and user agent.

The address is the ASGI peer. Forwarding headers are believed only from the edge: uvicorn's
ProxyHeadersMiddleware, configured by the shared `forwarded_allow_ips` setting
(megacity.runtime), replaces the peer with the right-most `X-Forwarded-For` entry the edge
wrote — and only when the direct peer is one of those addresses. A client anywhere else,
private networks included, cannot choose the address its brute-force limits count against.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

MAX_USER_AGENT = 512


@dataclass(frozen=True)
class ClientInfo:
    address: str
    user_agent: str | None


def client_of(request: Request) -> ClientInfo:
    ua = request.headers.get("user-agent")
    return ClientInfo(request.client.host if request.client else "unknown", ua[:MAX_USER_AGENT] if ua else None)


async def client_info(request: Request) -> ClientInfo:
    """FastAPI dependency (async: a sync one would cost a thread-pool hop per request)."""
    return client_of(request)


# `client: ClientDep` in a route instead of repeating `Depends(client_info)`.
ClientDep = Annotated[ClientInfo, Depends(client_info)]
