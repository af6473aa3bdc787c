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
                           email: str) -> uuid.UUID | None:
    """The student's live roster record: the one of its user, else an unclaimed one with its email."""
    return (await s.execute(text(
        "SELECT id FROM tenant.students WHERE zone_id = :z AND org_id = :o AND deleted_at IS NULL"
        " AND (user_id = :u OR (user_id IS NULL AND lower(email) = :email)) ORDER BY user_id NULLS LAST LIMIT 1"),
        {"z": zone_id, "o": org_id, "u": user_id, "email": email.lower()})).scalar_one_or_none()


async def insert_link(s: AsyncSession, zone_id: int, org_id: uuid.UUID, parent_user_id: uuid.UUID,
                      student_user_id: uuid.UUID, student_id: uuid.UUID | None) -> LinkRow | None:
    """The new pending link; None when the parent has an open (pending or approved) one already."""
    row = (await s.execute(text(
        "INSERT INTO tenant.parent_links (zone_id, org_id, parent_user_id, student_user_id, student_id)"
        " VALUES (:z, :o, :p, :u, :sid) ON CONFLICT (zone_id, org_id, parent_user_id, student_user_id)"
        f" WHERE status IN ('pending', 'approved') DO NOTHING RETURNING {_COLUMNS}"),
        {"z": zone_id, "o": org_id, "p": parent_user_id, "u": student_user_id, "sid": student_id})).first()
    return LinkRow(**row._mapping) if row is not None else None


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
