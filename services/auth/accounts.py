"""`auth.users`: accounts of one zone, read and written by several features (credentials, mfa,
users, the gRPC directory, the operator CLI). Emails are stored lower-cased and unique per zone;
the phone number is encrypted at rest (megacity.pii)."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.errors import AppError

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-()]{5,30}$")
# The languages the pages are translated into (users.locale's CHECK, migration 0009).
Locale = Literal["ko", "en"]
_COLUMNS = ("id, zone_id, email, password_hash, display_name, phone_encrypted, platform_role,"
            " mfa_secret_encrypted, mfa_enabled_at, status, created_at, email_verified_at, locale")


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    zone_id: int
    email: str
    password_hash: str
    display_name: str
    phone_encrypted: str | None
    platform_role: str | None
    mfa_secret_encrypted: str | None
    mfa_enabled_at: dt.datetime | None
    status: str
    created_at: dt.datetime
    email_verified_at: dt.datetime | None = None
    locale: Locale | None = None  # the pages' language the user picked; None: as the browser says

    @property
    def mfa_enabled(self) -> bool:
        return self.mfa_enabled_at is not None

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(**row._mapping)


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise AppError(422, "auth.email_invalid", "email is not a valid address")
    return value


def normalize_phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    value = phone.strip()
    if not _PHONE.match(value):
        raise AppError(422, "auth.phone_invalid", "phone must be digits, optionally with +, spaces, dashes")
    return value


async def by_email(session: AsyncSession, zone_id: int, email: str) -> User | None:
    row = (await session.execute(text(f"SELECT {_COLUMNS} FROM auth.users WHERE zone_id = :z AND email = :e"),
                                 {"z": zone_id, "e": email})).first()
    return User.from_row(row) if row else None


async def by_id(session: AsyncSession, zone_id: int, user_id: uuid.UUID) -> User | None:
    row = (await session.execute(text(f"SELECT {_COLUMNS} FROM auth.users WHERE zone_id = :z AND id = :id"),
                                 {"z": zone_id, "id": user_id})).first()
    return User.from_row(row) if row else None


async def set_locale(session: AsyncSession, zone_id: int, user_id: uuid.UUID, locale: str | None
                     ) -> tuple[User, bool] | None:
    """The user's language, in one round trip: the row as it is now and whether it changed (an
    unchanged value is not written: no row churn, no updated_at bump); None when there is no row."""
    row = (await session.execute(text(
        "WITH changed AS (UPDATE auth.users SET locale = :l, updated_at = now()"
        " WHERE zone_id = :z AND id = :id AND locale IS DISTINCT FROM :l"
        f" RETURNING {_COLUMNS})"
        f" SELECT true AS changed, {_COLUMNS} FROM changed"
        f" UNION ALL SELECT false, {_COLUMNS} FROM auth.users"
        " WHERE zone_id = :z AND id = :id AND NOT EXISTS (SELECT 1 FROM changed)"),
        {"l": locale, "z": zone_id, "id": user_id})).first()
    if row is None:
        return None
    fields = dict(row._mapping)
    changed = bool(fields.pop("changed"))
    return User(**fields), changed


async def create(session: AsyncSession, *, zone_id: int, email: str, password_hash: str, display_name: str,
                 phone_encrypted: str | None, platform_role: str | None = None) -> User:
    row = (await session.execute(text(
        "INSERT INTO auth.users (zone_id, email, password_hash, display_name, phone_encrypted, platform_role)"
        " VALUES (:z, :e, :h, :n, :p, :r) ON CONFLICT (zone_id, email) DO NOTHING"
        f" RETURNING {_COLUMNS}"),
        {"z": zone_id, "e": email, "h": password_hash, "n": display_name, "p": phone_encrypted,
         "r": platform_role})).first()
    if row is None:
        raise AppError(409, "auth.email_taken", "an account with this email already exists in this zone")
    return User.from_row(row)


async def set_password(session: AsyncSession, user_id: uuid.UUID, password_hash: str, *,
                       changed: bool = True) -> None:
    await session.execute(text(
        "UPDATE auth.users SET password_hash = :h, updated_at = now()"
        + (", password_changed_at = now()" if changed else "") + " WHERE id = :id"),
        {"h": password_hash, "id": user_id})


async def enable_mfa(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(text("UPDATE auth.users SET mfa_enabled_at = now(), updated_at = now()"
                               " WHERE id = :id AND mfa_enabled_at IS NULL"), {"id": user_id})


class DirectoryEntry(NamedTuple):
    id: uuid.UUID
    zone_id: int
    email: str
    display_name: str


async def directory(session: AsyncSession, zone_id: int, emails: list[str],
                    ids: list[uuid.UUID]) -> list[DirectoryEntry]:
    """id, email, display_name of the zone's users matching any email or id."""
    rows = await session.execute(text(
        "SELECT id, zone_id, email, display_name FROM auth.users"
        " WHERE zone_id = :z AND (email = ANY(:emails) OR id = ANY(:ids)) ORDER BY email"),
        {"z": zone_id, "emails": emails, "ids": ids})
    return [DirectoryEntry(*r) for r in rows]
