"""SQL of the item bank endpoints (the lock and the version bump live in `bank_versions`)."""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.exam.bank_versions import BANK_COLUMNS, BankRow


async def insert_bank(s: AsyncSession, zone_id: int, org_id: uuid.UUID, *, name: str, description: str,
                      scaling_constant: float, created_by: uuid.UUID) -> BankRow:
    row = (await s.execute(text(
        "INSERT INTO exam.item_banks (zone_id, org_id, name, description, scaling_constant, created_by)"
        f" VALUES (:z, :o, :name, :description, :d, :by) RETURNING {BANK_COLUMNS}"),
        {"z": zone_id, "o": org_id, "name": name, "description": description, "d": scaling_constant,
         "by": created_by})).one()
    return BankRow(**row._mapping)


async def list_banks(s: AsyncSession, zone_id: int, org_id: uuid.UUID, limit: int = 1000) -> list[BankRow]:
    rows = (await s.execute(text(f"SELECT {BANK_COLUMNS} FROM exam.item_banks WHERE zone_id = :z AND org_id = :o"
                                 " ORDER BY name LIMIT :limit"), {"z": zone_id, "o": org_id, "limit": limit})).all()
    return [BankRow(**r._mapping) for r in rows]


async def get_bank(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID) -> BankRow | None:
    row = (await s.execute(text(f"SELECT {BANK_COLUMNS} FROM exam.item_banks WHERE zone_id = :z AND org_id = :o"
                                " AND id = :b"), {"z": zone_id, "o": org_id, "b": bank_id})).first()
    return BankRow(**row._mapping) if row is not None else None


async def update_bank(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, *, name: str | None,
                      description: str | None, scaling_constant: float | None) -> None:
    """Set the given fields (None: unchanged)."""
    await s.execute(text(
        "UPDATE exam.item_banks SET name = coalesce(:name, name), description = coalesce(:description, description),"
        " scaling_constant = coalesce(:d, scaling_constant), updated_at = now()"
        " WHERE zone_id = :z AND org_id = :o AND id = :b"),
        {"name": name, "description": description, "d": scaling_constant, "z": zone_id, "o": org_id, "b": bank_id})
