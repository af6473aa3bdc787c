"""SQL of the orgs feature (table `tenant.orgs`, RLS on `id`)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.tenant.listing import Listed, listed

_COLUMNS = "id, zone_id, name, plan, status, created_at, updated_at"


@dataclass(frozen=True)
class OrgRow:
    id: uuid.UUID
    zone_id: int
    name: str
    plan: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


async def insert_org(s: AsyncSession, zone_id: int, name: str, plan: str) -> OrgRow:
    row = (await s.execute(text(
        f"INSERT INTO tenant.orgs (zone_id, name, plan) VALUES (:z, :name, :plan) RETURNING {_COLUMNS}"),
        {"z": zone_id, "name": name, "plan": plan})).one()
    return OrgRow(**row._mapping)


async def list_orgs(s: AsyncSession, zone_id: int, after: tuple[Any, ...] | None, limit: int, offset: int
                    ) -> Listed[OrgRow]:
    """`limit` rows ordered by (name, id), after the key `after` or from `offset`."""
    rows = (await s.execute(text(
        f"SELECT * FROM (SELECT {_COLUMNS}, count(*) OVER () AS total FROM tenant.orgs WHERE zone_id = :z) AS q"
        " WHERE CAST(:after_name AS text) IS NULL OR (name, id) > (:after_name, :after_id)"
        " ORDER BY name, id LIMIT :limit OFFSET :offset"),
        {"z": zone_id, "after_name": after[0] if after else None, "after_id": after[1] if after else None,
         "limit": limit, "offset": offset})).all()
    return listed(rows, OrgRow)


async def get_org(s: AsyncSession, zone_id: int, org_id: uuid.UUID) -> OrgRow | None:
    row = (await s.execute(text(f"SELECT {_COLUMNS} FROM tenant.orgs WHERE zone_id = :z AND id = :id"),
                           {"z": zone_id, "id": org_id})).first()
    return OrgRow(**row._mapping) if row is not None else None


async def org_status(s: AsyncSession, zone_id: int, org_id: uuid.UUID) -> str | None:
    """The org's status, None when it does not exist here (or RLS hides it)."""
    return (await s.execute(text("SELECT status FROM tenant.orgs WHERE zone_id = :z AND id = :o"),
                            {"z": zone_id, "o": org_id})).scalar_one_or_none()


async def update_org(s: AsyncSession, zone_id: int, org_id: uuid.UUID, changes: dict[str, str]) -> OrgRow | None:
    """Set the given columns (names from `OrgPatch`, never from a client's keys)."""
    sets = ", ".join(f"{f} = :{f}" for f in changes)
    row = (await s.execute(text(
        f"UPDATE tenant.orgs SET {sets}, updated_at = now() WHERE zone_id = :z AND id = :id RETURNING {_COLUMNS}"),
        {**changes, "z": zone_id, "id": org_id})).first()
    return OrgRow(**row._mapping) if row is not None else None
