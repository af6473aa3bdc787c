"""SQL of the person tables `tenant.teachers` and `tenant.parents` (same columns). The table
name is one of the two `PersonTable` constants, never a client's value."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.tenant.listing import Listed, listed

PersonTable = Literal["teachers", "parents"]
_TABLES = ("teachers", "parents")
_COLUMNS = "id, org_id, user_id, name, email, phone, created_at, updated_at"


@dataclass(frozen=True)
class PersonRow:
    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    email: str | None
    phone: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _table(table: PersonTable) -> str:
    if table not in _TABLES:
        raise ValueError(table)
    return f"tenant.{table}"


async def list_people(s: AsyncSession, table: PersonTable, zone_id: int, org_id: uuid.UUID,
                      after: tuple[Any, ...] | None, limit: int, offset: int) -> Listed[PersonRow]:
    """`limit` live records ordered by (name, id), after the key `after` or from `offset`."""
    rows = (await s.execute(text(
        f"SELECT * FROM (SELECT {_COLUMNS}, count(*) OVER () AS total FROM {_table(table)}"
        " WHERE zone_id = :z AND org_id = :o AND deleted_at IS NULL) AS q"
        " WHERE CAST(:after_name AS text) IS NULL OR (name, id) > (:after_name, :after_id)"
        " ORDER BY name, id LIMIT :l OFFSET :off"),
        {"z": zone_id, "o": org_id, "after_name": after[0] if after else None,
         "after_id": after[1] if after else None, "l": limit, "off": offset})).all()
    return listed(rows, PersonRow)


async def insert_person(s: AsyncSession, table: PersonTable, zone_id: int, org_id: uuid.UUID,
                        values: dict[str, Any]) -> PersonRow:
    row = (await s.execute(text(
        f"INSERT INTO {_table(table)} (zone_id, org_id, user_id, name, email, phone)"
        f" VALUES (:z, :o, :user_id, :name, :email, :phone) RETURNING {_COLUMNS}"),
        {"z": zone_id, "o": org_id, **values})).one()
    return PersonRow(**row._mapping)


async def get_person(s: AsyncSession, table: PersonTable, zone_id: int, org_id: uuid.UUID,
                     person_id: uuid.UUID) -> PersonRow | None:
    row = (await s.execute(text(
        f"SELECT {_COLUMNS} FROM {_table(table)} WHERE zone_id = :z AND org_id = :o AND id = :id"
        " AND deleted_at IS NULL"), {"z": zone_id, "o": org_id, "id": person_id})).first()
    return PersonRow(**row._mapping) if row is not None else None


async def update_person(s: AsyncSession, table: PersonTable, zone_id: int, org_id: uuid.UUID, person_id: uuid.UUID,
                        changes: dict[str, Any]) -> PersonRow | None:
    """Set the given columns (names from `PersonPatch`); None when there is no live record."""
    sets = "".join(f"{f} = :{f}, " for f in changes)
    row = (await s.execute(text(
        f"UPDATE {_table(table)} SET {sets}updated_at = now()"
        f" WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING {_COLUMNS}"),
        {**changes, "z": zone_id, "o": org_id, "id": person_id})).first()
    return PersonRow(**row._mapping) if row is not None else None


async def soft_delete_person(s: AsyncSession, table: PersonTable, zone_id: int, org_id: uuid.UUID,
                             person_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        f"UPDATE {_table(table)} SET deleted_at = now(), updated_at = now()"
        " WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING id"),
        {"z": zone_id, "o": org_id, "id": person_id})).first() is not None
