"""Zones by id or key, from the zone registry (None when there is no such zone: each face says
so its own way — gRPC `zone.not_found`; over HTTP the zone comes from the Host, `ZoneDep`), and
the sync that keeps `tenant.zones` in step with the registry.

Requests never read `tenant.zones`: the registry answers them. The table exists so orgs (and
everything under them) reference a real zone id, which is why a zone must reach it before its
first org — adding a zone is a registry edit, and the next migrate writes its row."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from megacity.zones import Registry, Zone, registry
from services.tenant.zones import queries


def zone_by_id(zone_id: int) -> Zone | None:
    try:
        return registry().zone_by_id(zone_id)
    except KeyError:
        return None


def zone_by_key(zone_key: str) -> Zone | None:
    try:
        return registry().zone(zone_key)
    except KeyError:
        return None


class ZoneConflict(ValueError):
    """The registry and the database disagree on which id a zone key has: zone ids are permanent
    (orgs, tokens and Redis keys carry them), so a key never moves to another id and an id is
    never given to another key. Nothing is written; fix the registry."""


@dataclass
class ZoneSync:
    """What one sync changed (zone keys)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.retired)


def _conflicts(reg: Registry, rows: list[queries.ZoneRow]) -> list[str]:
    by_id = {r.id: r for r in rows}
    by_key = {r.key: r for r in rows}
    out = []
    for z in reg.zones:
        row = by_id.get(z.id)
        if row is not None and row.key != z.key:
            out.append(f"zone id {z.id} is {row.key!r} in the database but {z.key!r} in the registry")
        owner = by_key.get(z.key)
        if owner is not None and owner.id != z.id:
            out.append(f"zone {z.key!r} has id {owner.id} in the database but {z.id} in the registry")
    return out


def sync_registry(conn: Connection, reg: Registry) -> ZoneSync:
    """Upsert every registry zone into `tenant.zones` and retire (never delete) the rows of zones
    that left the registry; idempotent. Runs in the caller's transaction, under the migration
    lock. Raises `ZoneConflict` (writing nothing) when an id or key would change hands."""
    queries.lock_for_sync(conn)
    rows = queries.zone_rows(conn)
    problems = _conflicts(reg, rows)
    if problems:
        raise ZoneConflict("; ".join(problems) + " (zone ids are permanent: give a new zone a new id)")
    by_id = {r.id: r for r in rows}
    result = ZoneSync()
    for z in reg.zones:
        row = by_id.get(z.id)
        if row is None:
            queries.insert_zone(conn, z.id, z.key, z.name, z.domains)
            result.added.append(z.key)
        elif (row.name, list(row.domains), row.retired_at) != (z.name, z.domains, None):
            queries.update_zone(conn, z.id, z.name, z.domains)
            result.updated.append(z.key)
    known = {z.id for z in reg.zones}
    for row in rows:
        if row.id not in known and row.retired_at is None:
            queries.retire_zone(conn, row.id)
            result.retired.append(row.key)
    return result
