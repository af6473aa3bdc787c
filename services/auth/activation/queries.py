"""SQL of provisioning and activation (`auth.provisioned_accounts`, `auth.activation_codes`,
new rows of `auth.users`). Set-based: one statement per step whatever the batch size."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Mapping:
    external_key: str
    user_id: uuid.UUID
    created: bool
    login_id: str


@dataclass(frozen=True)
class CodeCheck:
    """An account's activation code, locked, as a login id finds it."""

    user_id: uuid.UUID
    login_id: str
    status: str
    code_hash: bytes
    used: bool
    expired: bool


@dataclass(frozen=True)
class TakenCode:
    user_id: uuid.UUID
    login_id: str
    code_sealed: str
    expires_at: dt.datetime


async def lock_org(s: AsyncSession, zone_id: int, org_id: uuid.UUID) -> None:
    """Provisioning calls for one org run one at a time (a key is mapped once, no race)."""
    await s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                    {"k": f"auth.provision:{zone_id}:{org_id}"})


async def mappings(s: AsyncSession, zone_id: int, org_id: uuid.UUID, keys: list[str]) -> dict[str, Mapping]:
    rows = await s.execute(text(
        "SELECT p.external_key, p.user_id, p.created, u.email AS login_id FROM auth.provisioned_accounts p"
        " JOIN auth.users u ON u.zone_id = p.zone_id AND u.id = p.user_id"
        " WHERE p.zone_id = :z AND p.org_id = :o AND p.external_key = ANY(CAST(:keys AS text[]))"),
        {"z": zone_id, "o": org_id, "keys": keys})
    return {r.external_key: Mapping(**r._mapping) for r in rows}


async def users_by_email(s: AsyncSession, zone_id: int, emails: list[str]) -> dict[str, uuid.UUID]:
    rows = await s.execute(text("SELECT email, id FROM auth.users WHERE zone_id = :z"
                                " AND email = ANY(CAST(:e AS text[]))"), {"z": zone_id, "e": emails})
    return {r.email: r.id for r in rows}


async def users_by_id(s: AsyncSession, zone_id: int, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """id -> login id (email) of the zone's users among `ids`."""
    rows = await s.execute(text("SELECT id, email FROM auth.users WHERE zone_id = :z"
                                " AND id = ANY(CAST(:ids AS uuid[]))"), {"z": zone_id, "ids": ids})
    return {r.id: r.email for r in rows}


async def insert_users(s: AsyncSession, zone_id: int, emails: list[str], names: list[str],
                       password_hash: str) -> dict[str, uuid.UUID]:
    """New accounts (email -> id); an email taken meanwhile is skipped (absent from the answer)."""
    rows = await s.execute(text(
        "INSERT INTO auth.users (zone_id, email, password_hash, display_name)"
        " SELECT :z, e, :h, n FROM unnest(CAST(:e AS text[]), CAST(:n AS text[])) AS t(e, n)"
        " ON CONFLICT (zone_id, email) DO NOTHING RETURNING email, id"),
        {"z": zone_id, "e": emails, "n": names, "h": password_hash})
    return {r.email: r.id for r in rows}


async def insert_mappings(s: AsyncSession, zone_id: int, org_id: uuid.UUID, keys: list[str],
                          user_ids: list[uuid.UUID], created: list[bool]) -> None:
    await s.execute(text(
        "INSERT INTO auth.provisioned_accounts (zone_id, org_id, external_key, user_id, created)"
        " SELECT :z, :o, k, u, c FROM unnest(CAST(:k AS text[]), CAST(:u AS uuid[]), CAST(:c AS boolean[]))"
        " AS t(k, u, c) ON CONFLICT DO NOTHING"),
        {"z": zone_id, "o": org_id, "k": keys, "u": user_ids, "c": created})


async def rename_mappings(s: AsyncSession, zone_id: int, org_id: uuid.UUID, old_keys: list[str],
                          new_keys: list[str]) -> None:
    """A person's mapping under its new external key (the old key may hold personal data)."""
    await s.execute(text(
        "UPDATE auth.provisioned_accounts p SET external_key = t.n"
        " FROM unnest(CAST(:old AS text[]), CAST(:new AS text[])) AS t(o, n)"
        " WHERE p.zone_id = :z AND p.org_id = :o AND p.external_key = t.o"),
        {"z": zone_id, "o": org_id, "old": old_keys, "new": new_keys})


async def upsert_codes(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_ids: list[uuid.UUID],
                       hashes: list[bytes], sealed: list[str], expires_at: dt.datetime) -> None:
    """One live code per account: a new one replaces the old (unused or not)."""
    await s.execute(text(
        "INSERT INTO auth.activation_codes (zone_id, user_id, org_id, code_hash, code_sealed, expires_at)"
        " SELECT :z, u, :o, h, c, :exp FROM unnest(CAST(:u AS uuid[]), CAST(:h AS bytea[]), CAST(:c AS text[]))"
        " AS t(u, h, c)"
        " ON CONFLICT (zone_id, user_id) DO UPDATE SET org_id = excluded.org_id, code_hash = excluded.code_hash,"
        " code_sealed = excluded.code_sealed, expires_at = excluded.expires_at, used_at = NULL, taken_at = NULL,"
        " created_at = now()"),
        {"z": zone_id, "o": org_id, "u": user_ids, "h": hashes, "c": sealed, "exp": expires_at})


async def take_codes(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_ids: list[uuid.UUID]) -> list[TakenCode]:
    """The sealed codes of these users for this org (unused, unexpired), erased as they are read."""
    rows = await s.execute(text(
        "WITH t AS (SELECT c.user_id, c.code_sealed, c.expires_at, u.email FROM auth.activation_codes c"
        "  JOIN auth.users u ON u.zone_id = c.zone_id AND u.id = c.user_id"
        "  WHERE c.zone_id = :z AND c.org_id = :o AND c.user_id = ANY(CAST(:u AS uuid[]))"
        "  AND c.code_sealed IS NOT NULL AND c.used_at IS NULL AND c.expires_at > now() FOR UPDATE OF c)"
        " UPDATE auth.activation_codes c SET code_sealed = NULL, taken_at = now() FROM t"
        " WHERE c.zone_id = :z AND c.user_id = t.user_id"
        " RETURNING t.user_id, t.email AS login_id, t.code_sealed, t.expires_at"),
        {"z": zone_id, "o": org_id, "u": user_ids})
    return [TakenCode(**r._mapping) for r in rows]


async def code_for_login(s: AsyncSession, zone_id: int, login_id: str) -> CodeCheck | None:
    row = (await s.execute(text(
        "SELECT u.id AS user_id, u.email AS login_id, u.status, c.code_hash, c.used_at IS NOT NULL AS used,"
        " c.expires_at <= now() AS expired FROM auth.users u"
        " JOIN auth.activation_codes c ON c.zone_id = u.zone_id AND c.user_id = u.id"
        " WHERE u.zone_id = :z AND u.email = :e FOR UPDATE OF c"), {"z": zone_id, "e": login_id})).first()
    return CodeCheck(**row._mapping) if row is not None else None


async def mark_used(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> bool:
    """False when the code was used meanwhile."""
    return (await s.execute(text(
        "UPDATE auth.activation_codes SET used_at = now(), code_sealed = NULL"
        " WHERE zone_id = :z AND user_id = :u AND used_at IS NULL RETURNING user_id"),
        {"z": zone_id, "u": user_id})).first() is not None
