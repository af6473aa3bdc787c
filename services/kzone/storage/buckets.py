"""Every zone's buckets, made at K-Zone's start when missing: adding a zone to the registry is
enough for its `static-<zone>` bucket (behind static.<domain>) to exist on the next start, on
either backend. Idempotent, and it never changes a bucket that already exists."""
from __future__ import annotations

from megacity.telemetry.logs import get_logger
from megacity.zones import Registry, registry
from services.kzone.storage.base import ObjectStorage

log = get_logger("kzone.storage")


def zone_buckets(reg: Registry | None = None) -> list[str]:
    """The public per-zone buckets, in registry order (`Zone.static_bucket`)."""
    return [z.static_bucket for z in (reg or registry()).zones]


async def ensure_zone_buckets(storage: ObjectStorage, reg: Registry | None = None) -> list[str]:
    """Create the missing zone buckets (anonymous read: static.<domain> serves them); returns
    the ones created now."""
    created = [name for name in zone_buckets(reg) if await storage.ensure_bucket(name, public_read=True)]
    if created:
        log.info("zone buckets created", backend=storage.scheme, buckets=created)
    return created
