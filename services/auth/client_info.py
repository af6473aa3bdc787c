"""Who is on the other end of a request: client address and user agent.

The edge (nginx `$proxy_add_x_forwarded_for`, Traefik likewise) appends the address it saw to
X-Forwarded-For. Only when the direct peer is a trusted proxy is that header believed, and then
the right-most entry that is not itself a trusted proxy is the client — entries further left
were written by the client and are never used (they would let anyone dodge the per-address
brute-force limit by inventing addresses).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from fastapi import Request

MAX_USER_AGENT = 512


@lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip().strip('"')
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(request: Request, trusted: tuple[str, ...]) -> str:
    peer = request.client.host if request.client else ""
    nets = _networks(trusted)
    peer_ip = _ip(peer)
    if peer_ip is None or not any(peer_ip in n for n in nets):
        return peer or "unknown"
    forwarded = request.headers.get("x-forwarded-for", "")
    for part in reversed([p for p in forwarded.split(",") if p.strip()]):
        ip = _ip(part)
        if ip is None:
            break  # garbage: stop believing the header
        if not any(ip in n for n in nets):
            return str(ip)
        peer = str(ip)  # a trusted hop: keep walking left
    return peer or "unknown"


@dataclass(frozen=True)
class ClientInfo:
    address: str
    user_agent: str | None


def client_of(request: Request) -> ClientInfo:
    settings = request.app.state.resources.settings
    ua = request.headers.get("user-agent")
    return ClientInfo(client_address(request, tuple(settings.trusted_proxies)), ua[:MAX_USER_AGENT] if ua else None)


async def client_info(request: Request) -> ClientInfo:
    """FastAPI dependency (async: a sync one would cost a thread-pool hop per request)."""
    return client_of(request)
