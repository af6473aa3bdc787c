"""SQL of classes (`tenant.classes`, with the live student count of each) and of their teachers
(`tenant.teacher_classes`: which teacher user is assigned to which class)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_SELECT = ("SELECT c.id, c.org_id, c.grade, c.name, c.created_at, c.updated_at,"
           " (SELECT count(*) FROM tenant.students s WHERE s.zone_id = c.zone_id AND s.org_id = c.org_id"
           "  AND s.class_id = c.id AND s.deleted_at IS NULL) AS student_count FROM tenant.classes c")
# A teacher (`:teacher`, its user id) sees only the classes it is assigned to; NULL: no narrowing.
_TEACHER_FILTER = (" AND (CAST(:teacher AS uuid) IS NULL OR EXISTS (SELECT 1 FROM tenant.teacher_classes tc"
                   " WHERE tc.zone_id = c.zone_id AND tc.org_id = c.org_id AND tc.class_id = c.id"
                   " AND tc.teacher_user_id = :teacher))")


@dataclass(frozen=True)
class ClassRow:
    id: uuid.UUID
    org_id: uuid.UUID
    grade: int
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    student_count: int


@dataclass(frozen=True)
class ClassTeacherRow:
    teacher_user_id: uuid.UUID
    name: str | None  # the teacher's roster record name, when a live record has this user
    assigned_at: dt.datetime


async def list_classes(s: AsyncSession, zone_id: int, org_id: uuid.UUID, grade: int | None,
                       teacher: uuid.UUID | None = None) -> list[ClassRow]:
    rows = (await s.execute(text(
        f"{_SELECT} WHERE c.zone_id = :z AND c.org_id = :o AND (CAST(:g AS int) IS NULL OR c.grade = :g)"
        f"{_TEACHER_FILTER} ORDER BY c.grade, c.name"), {"z": zone_id, "o": org_id, "g": grade, "teacher": teacher})).all()
    return [ClassRow(**r._mapping) for r in rows]


async def get_class(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID,
                    teacher: uuid.UUID | None = None) -> ClassRow | None:
    row = (await s.execute(text(f"{_SELECT} WHERE c.zone_id = :z AND c.org_id = :o AND c.id = :id{_TEACHER_FILTER}"),
                           {"z": zone_id, "o": org_id, "id": class_id, "teacher": teacher})).first()
    return ClassRow(**row._mapping) if row is not None else None


async def is_teacher_member(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        "SELECT 1 FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND user_id = :u AND role = 'teacher'"),
        {"z": zone_id, "o": org_id, "u": user_id})).first() is not None


async def assign_teacher(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID,
                         teacher_user_id: uuid.UUID, by: uuid.UUID) -> bool:
    """True when the assignment is new (False: the teacher had the class already)."""
    return (await s.execute(text(
        "INSERT INTO tenant.teacher_classes (zone_id, org_id, class_id, teacher_user_id, assigned_by)"
        " VALUES (:z, :o, :c, :t, :by) ON CONFLICT DO NOTHING RETURNING class_id"),
        {"z": zone_id, "o": org_id, "c": class_id, "t": teacher_user_id, "by": by})).first() is not None


async def unassign_teacher(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID,
                           teacher_user_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        "DELETE FROM tenant.teacher_classes WHERE zone_id = :z AND org_id = :o AND class_id = :c"
        " AND teacher_user_id = :t RETURNING class_id"),
        {"z": zone_id, "o": org_id, "c": class_id, "t": teacher_user_id})).first() is not None


async def class_teachers(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID) -> list[ClassTeacherRow]:
    rows = (await s.execute(text(
        "SELECT tc.teacher_user_id, (SELECT t.name FROM tenant.teachers t WHERE t.zone_id = tc.zone_id"
        "  AND t.org_id = tc.org_id AND t.user_id = tc.teacher_user_id AND t.deleted_at IS NULL"
        "  ORDER BY t.created_at LIMIT 1) AS name, tc.assigned_at"
        " FROM tenant.teacher_classes tc WHERE tc.zone_id = :z AND tc.org_id = :o AND tc.class_id = :c"
        " ORDER BY tc.assigned_at, tc.teacher_user_id"), {"z": zone_id, "o": org_id, "c": class_id})).all()
    return [ClassTeacherRow(**r._mapping) for r in rows]


async def teacher_class_ids(s: AsyncSession, zone_id: int, org_id: uuid.UUID, teacher_user_id: uuid.UUID
                            ) -> list[uuid.UUID]:
    return list((await s.execute(text(
        "SELECT class_id FROM tenant.teacher_classes WHERE zone_id = :z AND org_id = :o AND teacher_user_id = :t"
        " ORDER BY class_id"), {"z": zone_id, "o": org_id, "t": teacher_user_id})).scalars())


@dataclass(frozen=True)
class ClassStudentRow:
    id: uuid.UUID
    user_id: uuid.UUID | None
    name: str


async def class_students(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID) -> list[ClassStudentRow]:
    """The live roster students of a class, by name."""
    rows = (await s.execute(text(
        "SELECT id, user_id, name FROM tenant.students WHERE zone_id = :z AND org_id = :o AND class_id = :c"
        " AND deleted_at IS NULL ORDER BY name, id"), {"z": zone_id, "o": org_id, "c": class_id})).all()
    return [ClassStudentRow(**r._mapping) for r in rows]


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
