"""Account audiences: which hosts accept a zone's access tokens.

A zone is one audience of its own, except where one product runs on several domains that the
registry lists as separate zones: K-Zone is `my-ktube.com` (zone `kzone`, the content hub) and
`my-ktube.ai` (zone `kzone-ai`, the AI features). Decision: one account serves both. Zones whose
domains share their name (the labels before the top-level domain: `my-ktube`) form one audience;
its domain set is the union of theirs. A token of any zone of the audience is accepted on every
host of that domain set and keeps its own zone: data, RLS context and Redis keys follow the
token's zone, never the host's. The account lives in the audience's account zone (its lowest
zone id: `kzone`), where logins of every domain of the audience should land. Any other pairing
of token zone and host zone stays 403 `auth.zone_mismatch`.
"""
from __future__ import annotations

from fastapi import Request

from megacity.http_app import request_zone
from megacity.zones import Registry, Zone, registry


def domain_name(domain: str) -> str:
    """`my-ktube.com` -> `my-ktube` (the name without the top-level domain)."""
    return domain.rsplit(".", 1)[0]


_last: tuple[Registry, dict[int, frozenset[int]]] | None = None  # per registry object (tests swap it)


def _audiences(reg: Registry) -> dict[int, frozenset[int]]:
    global _last
    if _last is not None and _last[0] is reg:
        return _last[1]
    by_name: dict[str, set[int]] = {}
    for zone in reg.zones:
        for domain in zone.domains:
            by_name.setdefault(domain_name(domain), set()).add(zone.id)
    out: dict[int, frozenset[int]] = {}
    for zone in reg.zones:
        ids: set[int] = {zone.id}
        for domain in zone.domains:
            ids |= by_name[domain_name(domain)]
        out[zone.id] = frozenset(ids)
    _last = (reg, out)
    return out


def audience_zone_ids(zone: Zone, reg: Registry | None = None) -> frozenset[int]:
    """The zones whose tokens `zone`'s hosts accept (always including `zone` itself)."""
    return _audiences(reg or registry()).get(zone.id, frozenset({zone.id}))


def audience_domains(zone: Zone, reg: Registry | None = None) -> list[str]:
    """The audience's domain set: every domain of every zone in it."""
    reg = reg or registry()
    ids = audience_zone_ids(zone, reg)
    return [d for z in reg.zones if z.id in ids for d in z.domains]


def account_zone(zone: Zone, reg: Registry | None = None) -> Zone:
    """Where the audience's accounts live (its lowest zone id): logins on any of its hosts belong there."""
    reg = reg or registry()
    return reg.zone_by_id(min(audience_zone_ids(zone, reg)))


def accepts(host_zone: Zone, token_zone_id: int, reg: Registry | None = None) -> bool:
    """Whether a host of `host_zone` accepts a token issued in zone `token_zone_id`."""
    return token_zone_id == host_zone.id or token_zone_id in audience_zone_ids(host_zone, reg)


async def account_request_zone(request: Request) -> Zone:
    """Dependency for auth's account routes (register, login, refresh, MFA): the account zone of
    the Host's audience, so a sign-in on my-ktube.ai finds the K-Zone account. Auth installs it
    with `app.dependency_overrides[request_zone] = account_request_zone`."""
    return account_zone(await request_zone(request))
