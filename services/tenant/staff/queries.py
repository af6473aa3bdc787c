"""SQL of the person tables `tenant.teachers` and `tenant.parents` (same columns). The table
name is one of the two `PersonTable` constants, never a client's value."""
from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.tenant.listing import Listed, listed
from services.tenant.pii import KEY_ID_ON_WRITE, TenantPii

PersonTable = Literal["teachers", "parents"]
_TABLES = ("teachers", "parents")
_COLUMNS = "id, org_id, user_id, name, email_encrypted, phone_encrypted, created_at, updated_at"


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


def _person(pii: TenantPii, email_encrypted: str | None, phone_encrypted: str | None, **rest: Any) -> PersonRow:
    """A row as the API shows it: email and phone decrypted (`services.tenant.pii`)."""
    where = f"teachers/parents:{rest.get('id')}"
    return PersonRow(**rest, email=pii.open(email_encrypted, where=where), phone=pii.open(phone_encrypted, where=where))


def _sealed(pii: TenantPii, values: dict[str, Any]) -> dict[str, Any]:
    """`email` / `phone` of `values` as their ciphertext and index columns."""
    out = dict(values)
    for column, seal in (("email", pii.seal_email), ("phone", pii.seal_phone)):
        if column in out:
            out[f"{column}_encrypted"], out[f"{column}_index"] = seal(out.pop(column))
    return out


def _table(table: PersonTable) -> str:
    if table not in _TABLES:
        raise ValueError(table)
    return f"tenant.{table}"


async def list_people(s: AsyncSession, pii: TenantPii, table: PersonTable, zone_id: int, org_id: uuid.UUID,
                      after: tuple[Any, ...] | None, limit: int, offset: int) -> Listed[PersonRow]:
    """`limit` live records ordered by (name, id), after the key `after` or from `offset`."""
    rows = (await s.execute(text(
        f"SELECT * FROM (SELECT {_COLUMNS}, count(*) OVER () AS total FROM {_table(table)}"
        " WHERE zone_id = :z AND org_id = :o AND deleted_at IS NULL) AS q"
        " WHERE CAST(:after_name AS text) IS NULL OR (name, id) > (:after_name, :after_id)"
        " ORDER BY name, id LIMIT :l OFFSET :off"),
        {"z": zone_id, "o": org_id, "after_name": after[0] if after else None,
         "after_id": after[1] if after else None, "l": limit, "off": offset})).all()
    return listed(rows, functools.partial(_person, pii))


async def insert_person(s: AsyncSession, pii: TenantPii, table: PersonTable, zone_id: int, org_id: uuid.UUID,
                        values: dict[str, Any]) -> PersonRow:
    row = (await s.execute(text(
        f"INSERT INTO {_table(table)} (zone_id, org_id, user_id, name, email_encrypted, email_index,"
        " phone_encrypted, phone_index, pii_key_id) VALUES (:z, :o, :user_id, :name, :email_encrypted,"
        f" :email_index, :phone_encrypted, :phone_index, :kid) RETURNING {_COLUMNS}"),
        {"z": zone_id, "o": org_id, "kid": pii.key_id, **_sealed(pii, values)})).one()
    return _person(pii, **row._mapping)


async def get_person(s: AsyncSession, pii: TenantPii, table: PersonTable, zone_id: int, org_id: uuid.UUID,
                     person_id: uuid.UUID) -> PersonRow | None:
    row = (await s.execute(text(
        f"SELECT {_COLUMNS} FROM {_table(table)} WHERE zone_id = :z AND org_id = :o AND id = :id"
        " AND deleted_at IS NULL"), {"z": zone_id, "o": org_id, "id": person_id})).first()
    return _person(pii, **row._mapping) if row is not None else None


async def update_person(s: AsyncSession, pii: TenantPii, table: PersonTable, zone_id: int, org_id: uuid.UUID, person_id: uuid.UUID,
                        changes: dict[str, Any]) -> PersonRow | None:
    """Set the given columns (names from `PersonPatch`, email and phone sealed); None when there is
    no live record. `pii_key_id` stays only when it is the writer's (the other column may be under
    an older key); a writer on other keys marks the row stale ('') for `rotate-pii`."""
    changes = _sealed(pii, changes)
    sets = "".join(f"{f} = :{f}, " for f in changes)
    row = (await s.execute(text(
        f"UPDATE {_table(table)} SET {sets}{KEY_ID_ON_WRITE}, updated_at = now()"
        f" WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING {_COLUMNS}"),
        {**changes, "kid": pii.key_id, "z": zone_id, "o": org_id, "id": person_id})).first()
    return _person(pii, **row._mapping) if row is not None else None


async def soft_delete_person(s: AsyncSession, table: PersonTable, zone_id: int, org_id: uuid.UUID,
                             person_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        f"UPDATE {_table(table)} SET deleted_at = now(), updated_at = now()"
        " WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING id"),
        {"z": zone_id, "o": org_id, "id": person_id})).first() is not None
