"""SQL of roster students (`tenant.students`, with the class name)."""
from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.tenant.listing import Listed, listed
from services.tenant.pii import KEY_ID_ON_WRITE, TenantPii

_SELECT = ("SELECT s.id, s.org_id, s.user_id, s.name, s.grade, s.class_id, c.name AS class_name,"
           " s.parent_phone_encrypted, s.email_encrypted, s.created_at, s.updated_at, s.deleted_at FROM tenant.students s"
           " LEFT JOIN tenant.classes c ON c.zone_id = s.zone_id AND c.org_id = s.org_id AND c.id = s.class_id")
# A parent sees a student only through an approved link (by roster record or by the student's user).
_PARENT_FILTER = (" AND (CAST(:parent AS uuid) IS NULL OR EXISTS (SELECT 1 FROM tenant.parent_links l"
                  " WHERE l.zone_id = s.zone_id AND l.org_id = s.org_id AND l.parent_user_id = :parent"
                  " AND l.status = 'approved' AND (l.student_id = s.id OR l.student_user_id = s.user_id)))")
# A teacher sees a student only in a class it is assigned to (`tenant.teacher_classes`).
_TEACHER_FILTER = (" AND (CAST(:teacher AS uuid) IS NULL OR EXISTS (SELECT 1 FROM tenant.teacher_classes tc"
                   " WHERE tc.zone_id = s.zone_id AND tc.org_id = s.org_id AND tc.class_id = s.class_id"
                   " AND tc.teacher_user_id = :teacher))")


@dataclass(frozen=True)
class StudentRow:
    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    grade: int
    class_id: uuid.UUID | None
    class_name: str | None
    parent_phone: str
    email: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


def _student(pii: TenantPii, parent_phone_encrypted: str, email_encrypted: str | None, **rest: Any) -> StudentRow:
    """A row as the API shows it: phone and email decrypted (`services.tenant.pii`)."""
    where = f"students:{rest.get('id')}"
    return StudentRow(**rest, parent_phone=pii.open(parent_phone_encrypted, where=where) or "",
                      email=pii.open(email_encrypted, where=where))


def sealed(pii: TenantPii, values: dict[str, Any]) -> dict[str, Any]:
    """`parent_phone` / `email` / `parent_email` of `values` as their ciphertext and index columns."""
    out = dict(values)
    for column, seal in (("parent_phone", pii.seal_phone), ("email", pii.seal_email),
                         ("parent_email", pii.seal_email)):
        if column in out:
            out[f"{column}_encrypted"], out[f"{column}_index"] = seal(out.pop(column))
    return out


@dataclass(frozen=True)
class StudentFilter:
    grade: int | None = None
    class_id: uuid.UUID | None = None
    name_prefix: str | None = None
    parent: uuid.UUID | None = None  # a parent's user: only its approved-linked students
    teacher: uuid.UUID | None = None  # a teacher's user: only students of its assigned classes


def _like_prefix(prefix: str | None) -> str | None:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") if prefix else None


async def list_students(s: AsyncSession, pii: TenantPii, zone_id: int, org_id: uuid.UUID, f: StudentFilter,
                        after: tuple[Any, ...] | None, limit: int, offset: int) -> Listed[StudentRow]:
    """`limit` live students ordered by (grade, name, id), after the key `after` or from `offset`."""
    rows = (await s.execute(text(
        f"SELECT * FROM (SELECT *, count(*) OVER () AS total FROM ({_SELECT} WHERE s.zone_id = :z"
        " AND s.org_id = :o AND s.deleted_at IS NULL AND (CAST(:g AS int) IS NULL OR s.grade = :g)"
        " AND (CAST(:c AS uuid) IS NULL OR s.class_id = :c)"
        f" AND (CAST(:n AS text) IS NULL OR s.name LIKE :n || '%'){_PARENT_FILTER}{_TEACHER_FILTER}) AS q) AS counted"
        " WHERE CAST(:after_grade AS int) IS NULL OR (grade, name, id) > (:after_grade, :after_name, :after_id)"
        " ORDER BY grade, name, id LIMIT :limit OFFSET :offset"),
        {"z": zone_id, "o": org_id, "g": f.grade, "c": f.class_id, "n": _like_prefix(f.name_prefix),
         "parent": f.parent, "teacher": f.teacher, "after_grade": after[0] if after else None,
         "after_name": after[1] if after else None, "after_id": after[2] if after else None,
         "limit": limit, "offset": offset})).all()
    return listed(rows, functools.partial(_student, pii))


async def get_student(s: AsyncSession, pii: TenantPii, zone_id: int, org_id: uuid.UUID, student_id: uuid.UUID,
                      parent: uuid.UUID | None, teacher: uuid.UUID | None = None) -> StudentRow | None:
    row = (await s.execute(text(
        f"{_SELECT} WHERE s.zone_id = :z AND s.org_id = :o AND s.id = :id AND s.deleted_at IS NULL{_PARENT_FILTER}"
        f"{_TEACHER_FILTER}"), {"z": zone_id, "o": org_id, "id": student_id, "parent": parent, "teacher": teacher})).first()
    return _student(pii, **row._mapping) if row is not None else None


async def class_exists(s: AsyncSession, zone_id: int, org_id: uuid.UUID, class_id: uuid.UUID) -> bool:
    return (await s.execute(text("SELECT 1 FROM tenant.classes WHERE zone_id = :z AND org_id = :o AND id = :id"),
                            {"z": zone_id, "o": org_id, "id": class_id})).first() is not None


async def insert_student(s: AsyncSession, pii: TenantPii, zone_id: int, org_id: uuid.UUID,
                         values: dict[str, Any]) -> uuid.UUID | None:
    """The new student's id; None when a live student has this name and parent phone (its index)."""
    return (await s.execute(text(
        "INSERT INTO tenant.students (zone_id, org_id, user_id, name, grade, class_id, parent_phone_encrypted,"
        " parent_phone_index, email_encrypted, email_index, pii_key_id)"
        " VALUES (:z, :o, :user_id, :name, :grade, :class_id, :parent_phone_encrypted, :parent_phone_index,"
        " :email_encrypted, :email_index, :kid)"
        " ON CONFLICT (zone_id, org_id, name, parent_phone_index) WHERE deleted_at IS NULL DO NOTHING RETURNING id"),
        {"z": zone_id, "o": org_id, "kid": pii.key_id, **sealed(pii, values)})).scalar_one_or_none()


async def update_student(s: AsyncSession, pii: TenantPii, zone_id: int, org_id: uuid.UUID, student_id: uuid.UUID,
                         changes: dict[str, Any]) -> bool:
    """Set the given columns (names from `StudentPatch`, phone and email sealed); False when there
    is no live student. Raises IntegrityError when another student has the new name and parent
    phone. `pii_key_id` stays only when it is the writer's (other columns may be under an older
    key); a writer on other keys marks the row stale ('') for `rotate-pii`."""
    changes = sealed(pii, changes)
    sets = ", ".join(f"{f} = :{f}" for f in changes)
    return (await s.execute(text(
        f"UPDATE tenant.students SET {sets}, {KEY_ID_ON_WRITE}, updated_at = now()"
        " WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING id"),
        {**changes, "kid": pii.key_id, "z": zone_id, "o": org_id, "id": student_id})).first() is not None


async def soft_delete_student(s: AsyncSession, zone_id: int, org_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        "UPDATE tenant.students SET deleted_at = now(), updated_at = now()"
        " WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING id"),
        {"z": zone_id, "o": org_id, "id": student_id})).first() is not None
