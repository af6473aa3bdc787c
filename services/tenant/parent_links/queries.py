"""SQL of parent–student links (`tenant.parent_links`; one open link per parent and student)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Whose links a caller sees: its own as the parent, its own as the student, or the org's (admins).
LinkSide = Literal["parent", "student", "all"]
_SIDE_FILTER = {"parent": "parent_user_id = :me", "student": "student_user_id = :me", "all": "true"}
_COLUMNS = ("id, org_id, parent_user_id, student_user_id, student_id, status, requested_at, decided_at,"
            " decided_by, revoked_at, revoked_by")


@dataclass(frozen=True)
class LinkRow:
    id: uuid.UUID
    org_id: uuid.UUID
    parent_user_id: uuid.UUID
    student_user_id: uuid.UUID
    student_id: uuid.UUID | None
    status: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: uuid.UUID | None
    revoked_at: dt.datetime | None
    revoked_by: uuid.UUID | None


@dataclass(frozen=True)
class LinkState:
    id: uuid.UUID
    status: str


async def is_student_member(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return (await s.execute(text(
        "SELECT 1 FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND user_id = :u AND role = 'student'"),
        {"z": zone_id, "o": org_id, "u": user_id})).first() is not None


async def roster_record_of(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID,
                           email_index: bytes) -> uuid.UUID | None:
    """The student's live roster record: the one of its user, else an unclaimed one with its email
    (by the email's blind index, `services.tenant.pii`)."""
    return (await s.execute(text(
        "SELECT id FROM tenant.students WHERE zone_id = :z AND org_id = :o AND deleted_at IS NULL"
        " AND (user_id = :u OR (user_id IS NULL AND email_index = :email)) ORDER BY user_id NULLS LAST LIMIT 1"),
        {"z": zone_id, "o": org_id, "u": user_id, "email": email_index})).scalar_one_or_none()


async def insert_link(s: AsyncSession, zone_id: int, org_id: uuid.UUID, parent_user_id: uuid.UUID,
                      student_user_id: uuid.UUID, student_id: uuid.UUID | None, *,
                      approved_by: uuid.UUID | None = None) -> LinkRow | None:
    """The new link, pending (or approved by `approved_by`: a parent code's issuer); None when
    the parent has an open (pending or approved) one already."""
    row = (await s.execute(text(
        "INSERT INTO tenant.parent_links (zone_id, org_id, parent_user_id, student_user_id, student_id, status,"
        " decided_at, decided_by) VALUES (:z, :o, :p, :u, :sid, CASE WHEN CAST(:by AS uuid) IS NULL THEN 'pending'"
        " ELSE 'approved' END, CASE WHEN CAST(:by AS uuid) IS NULL THEN NULL ELSE now() END, :by)"
        " ON CONFLICT (zone_id, org_id, parent_user_id, student_user_id)"
        f" WHERE status IN ('pending', 'approved') DO NOTHING RETURNING {_COLUMNS}"),
        {"z": zone_id, "o": org_id, "p": parent_user_id, "u": student_user_id, "sid": student_id,
         "by": approved_by})).first()
    return LinkRow(**row._mapping) if row is not None else None


async def open_link(s: AsyncSession, zone_id: int, org_id: uuid.UUID, parent_user_id: uuid.UUID,
                    student_user_id: uuid.UUID) -> LinkState | None:
    """The parent's open (pending or approved) link to the student, locked."""
    row = (await s.execute(text(
        "SELECT id, status FROM tenant.parent_links WHERE zone_id = :z AND org_id = :o AND parent_user_id = :p"
        " AND student_user_id = :u AND status IN ('pending', 'approved') FOR UPDATE"),
        {"z": zone_id, "o": org_id, "p": parent_user_id, "u": student_user_id})).first()
    return LinkState(row.id, row.status) if row is not None else None


async def list_links(s: AsyncSession, zone_id: int, org_id: uuid.UUID, side: LinkSide, me: uuid.UUID,
                     status: str | None) -> list[LinkRow]:
    rows = (await s.execute(text(
        f"SELECT {_COLUMNS} FROM tenant.parent_links WHERE zone_id = :z AND org_id = :o AND {_SIDE_FILTER[side]}"
        " AND (CAST(:st AS text) IS NULL OR status = :st) ORDER BY requested_at DESC LIMIT 500"),
        {"z": zone_id, "o": org_id, "me": me, "st": status})).all()
    return [LinkRow(**r._mapping) for r in rows]


async def lock_link_status(s: AsyncSession, zone_id: int, org_id: uuid.UUID, link_id: uuid.UUID, side: LinkSide,
                           me: uuid.UUID) -> str | None:
    """The link's status, the row locked; None when there is no such link on the caller's side."""
    return (await s.execute(text(
        f"SELECT status FROM tenant.parent_links WHERE zone_id = :z AND org_id = :o AND id = :id"
        f" AND {_SIDE_FILTER[side]} FOR UPDATE"),
        {"z": zone_id, "o": org_id, "id": link_id, "me": me})).scalar_one_or_none()


async def set_link_status(s: AsyncSession, zone_id: int, org_id: uuid.UUID, link_id: uuid.UUID, to: str,
                          by: uuid.UUID) -> LinkRow:
    """Move the link to `to`, stamping the decision (approved, rejected) or the revocation."""
    stamp = "decided_at = now(), decided_by = :me" if to in ("approved", "rejected") else \
        "revoked_at = now(), revoked_by = :me"
    row = (await s.execute(text(
        f"UPDATE tenant.parent_links SET status = :to, {stamp} WHERE zone_id = :z AND org_id = :o AND id = :id"
        f" RETURNING {_COLUMNS}"), {"to": to, "z": zone_id, "o": org_id, "id": link_id, "me": by})).one()
    return LinkRow(**row._mapping)


async def most_relevant_link(s: AsyncSession, zone_id: int, org_id: uuid.UUID, parent_user_id: uuid.UUID,
                             student_id: uuid.UUID) -> LinkState | None:
    """The parent's link to the student (by user or roster id): an approved one if any, else the latest."""
    row = (await s.execute(text(
        "SELECT id, status FROM tenant.parent_links WHERE zone_id = :z AND org_id = :o AND parent_user_id = :p"
        " AND (student_user_id = :sid OR student_id = :sid)"
        " ORDER BY (status = 'approved') DESC, requested_at DESC LIMIT 1"),
        {"z": zone_id, "o": org_id, "p": parent_user_id, "sid": student_id})).first()
    return LinkState(row.id, row.status) if row is not None else None


async def member_role(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """The user's role in the org (None: not a member), the row locked."""
    return (await s.execute(text(
        "SELECT role FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND user_id = :u FOR UPDATE"),
        {"z": zone_id, "o": org_id, "u": user_id})).scalar_one_or_none()


@dataclass(frozen=True)
class StudentRecord:
    id: uuid.UUID
    user_id: uuid.UUID | None
    name: str


async def live_student(s: AsyncSession, zone_id: int, org_id: uuid.UUID, student_id: uuid.UUID
                       ) -> StudentRecord | None:
    row = (await s.execute(text(
        "SELECT id, user_id, name FROM tenant.students WHERE zone_id = :z AND org_id = :o AND id = :id"
        " AND deleted_at IS NULL"), {"z": zone_id, "o": org_id, "id": student_id})).first()
    return StudentRecord(row.id, row.user_id, row.name) if row is not None else None


async def student_name(s: AsyncSession, zone_id: int, org_id: uuid.UUID, student_id: uuid.UUID | None) -> str | None:
    if student_id is None:
        return None
    return (await s.execute(text("SELECT name FROM tenant.students WHERE zone_id = :z AND org_id = :o AND id = :id"),
                            {"z": zone_id, "o": org_id, "id": student_id})).scalar_one_or_none()


# -- parent codes (`tenant.parent_codes`: only an HMAC of each code is stored) ------------------

@dataclass(frozen=True)
class CodeRow:
    id: uuid.UUID
    student_id: uuid.UUID
    created_by: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None


async def insert_code(s: AsyncSession, zone_id: int, org_id: uuid.UUID, student_id: uuid.UUID, code_hash: bytes,
                      created_by: uuid.UUID, valid_for: dt.timedelta) -> CodeRow:
    row = (await s.execute(text(
        "INSERT INTO tenant.parent_codes (zone_id, org_id, student_id, code_hash, created_by, expires_at)"
        " VALUES (:z, :o, :sid, :h, :by, now() + :valid)"
        " RETURNING id, student_id, created_by, created_at, expires_at, used_at"),
        {"z": zone_id, "o": org_id, "sid": student_id, "h": code_hash, "by": created_by, "valid": valid_for})).one()
    return CodeRow(**row._mapping)


async def lock_code(s: AsyncSession, zone_id: int, org_id: uuid.UUID, code_hash: bytes) -> tuple[CodeRow, bool] | None:
    """The code with this hash, locked, and whether it has expired; None when there is none."""
    row = (await s.execute(text(
        "SELECT id, student_id, created_by, created_at, expires_at, used_at, expires_at <= now() AS expired"
        " FROM tenant.parent_codes WHERE zone_id = :z AND org_id = :o AND code_hash = :h FOR UPDATE"),
        {"z": zone_id, "o": org_id, "h": code_hash})).first()
    if row is None:
        return None
    fields = {k: v for k, v in row._mapping.items() if k != "expired"}
    return CodeRow(**fields), bool(row.expired)


async def use_code(s: AsyncSession, zone_id: int, org_id: uuid.UUID, code_id: uuid.UUID, by: uuid.UUID,
                   link_id: uuid.UUID) -> None:
    await s.execute(text(
        "UPDATE tenant.parent_codes SET used_at = now(), used_by = :by, link_id = :link"
        " WHERE zone_id = :z AND org_id = :o AND id = :id"),
        {"z": zone_id, "o": org_id, "id": code_id, "by": by, "link": link_id})


# -- a parent's children -------------------------------------------------------------------------

@dataclass(frozen=True)
class ChildRow:
    link_id: uuid.UUID
    student_user_id: uuid.UUID
    student_id: uuid.UUID | None
    name: str | None
    grade: int | None
    class_id: uuid.UUID | None
    class_name: str | None
    linked_at: dt.datetime | None


async def children(s: AsyncSession, zone_id: int, org_id: uuid.UUID, parent_user_id: uuid.UUID) -> list[ChildRow]:
    """The students of the parent's approved links, with their live roster record when there is one."""
    rows = (await s.execute(text(
        "SELECT l.id AS link_id, l.student_user_id, coalesce(st.id, l.student_id) AS student_id, st.name, st.grade,"
        " st.class_id, c.name AS class_name, l.decided_at AS linked_at"
        " FROM tenant.parent_links l"
        " LEFT JOIN LATERAL (SELECT * FROM tenant.students x WHERE x.zone_id = l.zone_id AND x.org_id = l.org_id"
        "   AND x.deleted_at IS NULL AND (x.id = l.student_id OR x.user_id = l.student_user_id)"
        "   ORDER BY (x.id = l.student_id) DESC LIMIT 1) st ON true"
        " LEFT JOIN tenant.classes c ON c.zone_id = st.zone_id AND c.org_id = st.org_id AND c.id = st.class_id"
        " WHERE l.zone_id = :z AND l.org_id = :o AND l.parent_user_id = :p AND l.status = 'approved'"
        " ORDER BY st.name NULLS LAST, l.id LIMIT 500"),
        {"z": zone_id, "o": org_id, "p": parent_user_id})).all()
    return [ChildRow(**r._mapping) for r in rows]
