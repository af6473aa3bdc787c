"""SQL of the account-email queue (`auth.account_emails`, migration 0007). The sender runs in
the auth `service` scope of one zone at a time."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class EmailJob:
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    to_address: str
    to_name: str
    payload_sealed: str | None
    attempts: int


@dataclass(frozen=True)
class EmailOutcome:
    id: uuid.UUID
    status: str  # sent, pending (retry later), failed
    error: str | None = None
    retry_in_seconds: float = 0.0


async def insert(s: AsyncSession, *, zone_id: int, user_id: uuid.UUID, kind: str, to_address: str, to_name: str,
                 payload_sealed: str) -> uuid.UUID:
    return (await s.execute(text(
        "INSERT INTO auth.account_emails (zone_id, user_id, kind, to_address, to_name, payload_sealed)"
        " VALUES (:z, :u, :k, :to, :name, :p) RETURNING id"),
        {"z": zone_id, "u": user_id, "k": kind, "to": to_address, "name": to_name, "p": payload_sealed})
    ).scalar_one()


async def skip_stale(s: AsyncSession, zone_id: int, max_age_seconds: dict[str, float]) -> int:
    """Pending mails older than their link's lifetime are skipped (the link is dead anyway)."""
    rows = (await s.execute(text(
        "UPDATE auth.account_emails SET status = 'skipped', payload_sealed = NULL,"
        " error = coalesce(error || '; ', '') || 'not sent in time'"
        " WHERE zone_id = :z AND status = 'pending' AND created_at < now() - make_interval(secs =>"
        "  CASE kind WHEN 'password_reset' THEN CAST(:reset AS float8) ELSE CAST(:verify AS float8) END)"
        " RETURNING id"), {"z": zone_id, "reset": max_age_seconds["password_reset"],
                           "verify": max_age_seconds["email_verification"]})).all()
    return len(rows)


async def claim(s: AsyncSession, zone_id: int, limit: int, lease_seconds: float) -> list[EmailJob]:
    """Up to `limit` due mails, oldest first; each try is counted and leased (a sender that dies
    mid-send leaves the row to be tried again after the lease). SKIP LOCKED: replicas share."""
    rows = (await s.execute(text(
        "WITH due AS (SELECT id FROM auth.account_emails WHERE zone_id = :z AND status = 'pending'"
        "  AND next_at <= now() ORDER BY next_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
        " UPDATE auth.account_emails e SET attempts = e.attempts + 1,"
        "  next_at = now() + make_interval(secs => :lease) FROM due WHERE e.id = due.id"
        " RETURNING e.id, e.user_id, e.kind, e.to_address, e.to_name, e.payload_sealed, e.attempts"),
        {"z": zone_id, "limit": limit, "lease": lease_seconds})).all()
    return [EmailJob(*r) for r in rows]


async def record(s: AsyncSession, zone_id: int, outcomes: Iterable[EmailOutcome]) -> None:
    """What each try came to; a sent or failed mail drops its sealed token."""
    for o in outcomes:
        await s.execute(text(
            "UPDATE auth.account_emails SET status = :st, error = :e,"
            " sent_at = CASE WHEN CAST(:st AS text) = 'sent' THEN now() END,"
            " payload_sealed = CASE WHEN CAST(:st AS text) = 'pending' THEN payload_sealed END,"
            " next_at = now() + make_interval(secs => :retry)"
            " WHERE zone_id = :z AND id = :id AND status = 'pending'"),
            {"z": zone_id, "id": o.id, "st": o.status, "e": o.error, "retry": o.retry_in_seconds})
