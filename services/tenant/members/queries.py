"""SQL of memberships (`tenant.memberships`)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.tenant.listing import Listed, listed

_COLUMNS = "user_id, org_id, role, created_at, updated_at"
# A teacher (`:teacher`) sees only student members on the roster of a class it is assigned to.
_TEACHER_FILTER = (" AND (CAST(:teacher AS uuid) IS NULL OR (role = 'student' AND EXISTS (SELECT 1"
                   " FROM tenant.students st JOIN tenant.teacher_classes tc ON tc.zone_id = st.zone_id"
                   " AND tc.org_id = st.org_id AND tc.class_id = st.class_id AND tc.teacher_user_id = :teacher"
                   " WHERE st.zone_id = memberships.zone_id AND st.org_id = memberships.org_id"
                   " AND st.user_id = memberships.user_id AND st.deleted_at IS NULL)))")


@dataclass(frozen=True)
class MemberRow:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class UserMembership:
    org_id: uuid.UUID
    role: str


async def list_members(s: AsyncSession, zone_id: int, org_id: uuid.UUID, role: str | None,
                       after: tuple[Any, ...] | None, limit: int, offset: int,
                       teacher: uuid.UUID | None = None) -> Listed[MemberRow]:
    """`limit` members ordered by (created_at, user_id), after the key `after` or from `offset`."""
    rows = (await s.execute(text(
        f"SELECT * FROM (SELECT {_COLUMNS}, count(*) OVER () AS total FROM tenant.memberships"
        " WHERE zone_id = :z AND org_id = :o AND (CAST(:role AS text) IS NULL OR role = :role)"
        f"{_TEACHER_FILTER}) AS q"
        " WHERE CAST(:after_at AS timestamptz) IS NULL OR (created_at, user_id) > (:after_at, :after_id)"
        " ORDER BY created_at, user_id LIMIT :limit OFFSET :offset"),
        {"z": zone_id, "o": org_id, "role": role, "teacher": teacher, "after_at": after[0] if after else None,
         "after_id": after[1] if after else None, "limit": limit, "offset": offset})).all()
    return listed(rows, MemberRow)


async def insert_member(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID, role: str
                        ) -> MemberRow | None:
    """The new membership; None when the user is a member already."""
    row = (await s.execute(text(
        "INSERT INTO tenant.memberships (zone_id, org_id, user_id, role) VALUES (:z, :o, :u, :role)"
        f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"),
        {"z": zone_id, "o": org_id, "u": user_id, "role": role})).first()
    return MemberRow(**row._mapping) if row is not None else None


async def claim_student_record(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID,
                               email_index: bytes) -> None:
    """A live roster record with the user's email (its blind index, `services.tenant.pii`) and no
    user yet becomes the user's."""
    await s.execute(text(
        "UPDATE tenant.students SET user_id = :u, updated_at = now() WHERE zone_id = :z AND org_id = :o"
        " AND user_id IS NULL AND deleted_at IS NULL AND email_index = :email"),
        {"u": user_id, "z": zone_id, "o": org_id, "email": email_index})


async def lock_member(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """The member's current role (None: not a member), with the member row and the org's admin
    rows locked, so two concurrent demotions or removals cannot both pass the last-admin check."""
    await s.execute(text("SELECT 1 FROM tenant.memberships WHERE zone_id = :z AND org_id = :o"
                         " AND role = 'org_admin' FOR UPDATE"), {"z": zone_id, "o": org_id})
    return (await s.execute(text(
        "SELECT role FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND user_id = :u FOR UPDATE"),
        {"z": zone_id, "o": org_id, "u": user_id})).scalar_one_or_none()


async def count_other_admins(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> int:
    return (await s.execute(text(
        "SELECT count(*) FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND role = 'org_admin'"
        " AND user_id <> :u"), {"z": zone_id, "o": org_id, "u": user_id})).scalar_one()


async def set_role(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID, role: str) -> MemberRow:
    row = (await s.execute(text(
        "UPDATE tenant.memberships SET role = :role, updated_at = CASE WHEN role = :role THEN updated_at"
        " ELSE now() END WHERE zone_id = :z AND org_id = :o AND user_id = :u"
        f" RETURNING {_COLUMNS}"), {"role": role, "z": zone_id, "o": org_id, "u": user_id})).one()
    return MemberRow(**row._mapping)


async def delete_member(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await s.execute(text("DELETE FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND user_id = :u"),
                    {"z": zone_id, "o": org_id, "u": user_id})


async def active_memberships_of_user(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> list[UserMembership]:
    """The user's memberships in the zone's active orgs, oldest first."""
    rows = (await s.execute(text(
        "SELECT m.org_id, m.role FROM tenant.memberships m JOIN tenant.orgs o"
        " ON o.zone_id = m.zone_id AND o.id = m.org_id AND o.status = 'active'"
        " WHERE m.zone_id = :z AND m.user_id = :u ORDER BY m.created_at, m.org_id"),
        {"z": zone_id, "u": user_id})).all()
    return [UserMembership(r.org_id, r.role) for r in rows]
