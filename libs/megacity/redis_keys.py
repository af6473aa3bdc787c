"""The one Redis key builder. Every key lives in a tenant namespace `z:{zone}:o:{org}:...`
(or `z:{zone}:...` for zone-wide data), so no key can be shared across tenants through a
forgotten prefix. Asking for a key without a zone or org raises `InvalidKeyError`.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from megacity.zones import registry

_PART = re.compile(r"^[A-Za-z0-9_\-.]+$")


class InvalidKeyError(ValueError):
    """A key was requested without a valid tenant namespace, or with an unsafe part."""


def _part(value: object, what: str) -> str:
    text = "" if value is None else str(value)
    if not _PART.match(text):
        raise InvalidKeyError(f"invalid {what} for a Redis key: {value!r}")
    return text


def _zone(zone_id: object) -> str:
    if not isinstance(zone_id, int) or isinstance(zone_id, bool) or zone_id <= 0:
        raise InvalidKeyError(f"zone_id must be a positive int, got {zone_id!r}")
    return f"z:{zone_id}"


@dataclass(frozen=True)
class RedisKeys:
    """Builds keys under an optional deployment/test prefix (settings.redis_key_prefix)."""

    prefix: str = ""

    def _join(self, *segments: str) -> str:
        head = f"{_part(self.prefix, 'prefix')}:" if self.prefix else ""
        return head + ":".join(segments)

    def tenant(self, zone_id: int, org_id: uuid.UUID | str, *parts: object) -> str:
        """`z:{zone}:o:{org}:part...` — data owned by one org."""
        if not parts:
            raise InvalidKeyError("a key needs at least one part after the tenant namespace")
        return self._join(_zone(zone_id), "o", _part(org_id, "org_id"), *(_part(p, "key part") for p in parts))

    def zone(self, zone_id: int, *parts: object) -> str:
        """`z:{zone}:part...` — zone-wide data (e.g. a zone leaderboard)."""
        if not parts:
            raise InvalidKeyError("a key needs at least one part after the zone namespace")
        return self._join(_zone(zone_id), *(_part(p, "key part") for p in parts))


def zone_prefixes(keys: RedisKeys, families: Iterable[tuple[str, ...]]) -> list[str]:
    """`z:{zone}:<family...>:` for every zone of the registry, e.g. the key families a
    `TrackedCache` keeps in process (`("auth", "denied_jti")` -> `z:1:auth:denied_jti:`, ...)."""
    return [keys.zone(zone.id, *family) + ":" for zone in registry().zones for family in families]
