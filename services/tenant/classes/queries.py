"""SQL of classes (`tenant.classes`, with the live student count of each)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_SELECT = ("SELECT c.id, c.org_id, c.grade, c.name, c.created_at, c.updated_at,"
           " (SELECT count(*) FROM tenant.students s WHERE s.zone_id = c.zone_id AND s.org_id = c.org_id"
           "  AND s.class_id = c.id AND s.deleted_at IS NULL) AS student_count FROM tenant.classes c")


@dataclass(frozen=True)
class ClassRow:
    id: uuid.UUID
    org_id: uuid.UUID
    grade: int
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    student_count: int


async def list_classes(s: AsyncSession, zone_id: int, org_id: uuid.UUID, grade: int | None) -> list[ClassRow]:
    rows = (await s.execute(text(
        f"{_SELECT} WHERE c.zone_id = :z AND c.org_id = :o AND (CAST(:g AS int) IS NULL OR c.grade = :g)"
        " ORDER BY c.grade, c.name"), {"z": zone_id, "o": org_id, "g": grade})).all()
    return [ClassRow(**r._mapping) for r in rows]


async def get_class(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID) -> ClassRow | None:
    row = (await s.execute(text(f"{_SELECT} WHERE c.zone_id = :z AND c.org_id = :o AND c.id = :id"),
                           {"z": zone_id, "o": org_id, "id": class_id})).first()
    return ClassRow(**row._mapping) if row is not None else None


async def insert_class(s: AsyncSession, zone_id: int, org_id: uuid.UUID, grade: int, name: str) -> uuid.UUID | None:
    """The new class's id; None when the org has a class of that grade and name."""
    return (await s.execute(text(
        "INSERT INTO tenant.classes (zone_id, org_id, grade, name) VALUES (:z, :o, :g, :n)"
        " ON CONFLICT DO NOTHING RETURNING id"),
        {"z": zone_id, "o": org_id, "g": grade, "n": name})).scalar_one_or_none()


async def update_class(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID,
                       changes: dict[str, object]) -> bool:
    """Set the given columns (names from `ClassPatch`); False when there is no such class.
    Raises IntegrityError when another class has the new grade and name."""
    sets = ", ".join(f"{f} = :{f}" for f in changes)
    return (await s.execute(text(
        f"UPDATE tenant.classes SET {sets}, updated_at = now()"
        " WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING id"),
        {**changes, "z": zone_id, "o": org_id, "id": class_id})).first() is not None


async def delete_class(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        "DELETE FROM tenant.classes WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING id"),
        {"z": zone_id, "o": org_id, "id": class_id})).first() is not None
