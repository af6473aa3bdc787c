"""SQL of the zone rows (`tenant.zones`: reference data, no RLS; orgs and mesh probes reference
it). Synchronous: the registry sync runs inside the migration step (Alembic), not a request."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, text

# The migrator's advisory lock (megacity.db.alembic_env): one sync at a time, never mid-migration.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('migrate:tenant'))")


@dataclass(frozen=True)
class ZoneRow:
    id: int
    key: str
    name: str
    domains: list[str]
    retired_at: dt.datetime | None


def lock_for_sync(conn: Connection) -> None:
    conn.execute(_LOCK)


def zone_rows(conn: Connection) -> list[ZoneRow]:
    rows = conn.execute(text("SELECT id, key, name, domains, retired_at FROM tenant.zones ORDER BY id")).all()
    return [ZoneRow(**row._mapping) for row in rows]


def insert_zone(conn: Connection, zone_id: int, key: str, name: str, domains: list[str]) -> None:
    conn.execute(text("INSERT INTO tenant.zones (id, key, name, domains) VALUES (:id, :key, :name, :domains)"),
                 {"id": zone_id, "key": key, "name": name, "domains": domains})


def update_zone(conn: Connection, zone_id: int, name: str, domains: list[str]) -> None:
    """Name and domains follow the registry; a retired zone that is back is active again."""
    conn.execute(text("UPDATE tenant.zones SET name = :name, domains = :domains, retired_at = NULL WHERE id = :id"),
                 {"id": zone_id, "name": name, "domains": domains})


def retire_zone(conn: Connection, zone_id: int) -> None:
    conn.execute(text("UPDATE tenant.zones SET retired_at = now() WHERE id = :id AND retired_at IS NULL"),
                 {"id": zone_id})

