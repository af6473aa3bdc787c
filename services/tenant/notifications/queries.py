"""SQL of notifications (`tenant.notifications`; RLS shows a request only its own user's rows)."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.tenant.listing import Listed, listed

_COLUMNS = "id, org_id, kind, title, data, created_at, read_at"


@dataclass(frozen=True)
class NotificationRow:
    id: uuid.UUID
    org_id: uuid.UUID
    kind: str
    title: str
    data: dict[str, Any]
    created_at: dt.datetime
    read_at: dt.datetime | None


async def insert_many(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_ids: Iterable[uuid.UUID], kind: str,
                      title: str, data: dict[str, Any]) -> None:
    """One notification per user. No RETURNING: the rows are the recipients' (RLS hides them)."""
    users = sorted(set(user_ids), key=str)
    if users:
        await s.execute(text(
            "INSERT INTO tenant.notifications (zone_id, org_id, user_id, kind, title, data)"
            " SELECT :z, :o, u, :kind, :title, CAST(:data AS jsonb) FROM unnest(CAST(:users AS uuid[])) AS u"),
            {"z": zone_id, "o": org_id, "users": users, "kind": kind, "title": title, "data": json.dumps(data)})


async def org_admins(s: AsyncSession, zone_id: int, org_id: uuid.UUID) -> list[uuid.UUID]:
    return list((await s.execute(text(
        "SELECT user_id FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND role = 'org_admin'"),
        {"z": zone_id, "o": org_id})).scalars())


async def list_mine(s: AsyncSession, zone_id: int, org_id: uuid.UUID, me: uuid.UUID, unread: bool,
                    after: tuple[Any, ...] | None, limit: int) -> Listed[NotificationRow]:
    """`limit` of the user's notifications, newest first (created_at DESC, id DESC), after `after`."""
    rows = (await s.execute(text(
        f"SELECT * FROM (SELECT {_COLUMNS}, count(*) OVER () AS total FROM tenant.notifications"
        " WHERE zone_id = :z AND org_id = :o AND user_id = :me AND (NOT :unread OR read_at IS NULL)) AS q"
        " WHERE CAST(:after_at AS timestamptz) IS NULL OR (created_at, id) < (:after_at, :after_id)"
        " ORDER BY created_at DESC, id DESC LIMIT :limit"),
        {"z": zone_id, "o": org_id, "me": me, "unread": unread, "after_at": after[0] if after else None,
         "after_id": after[1] if after else None, "limit": limit})).all()
    return listed(rows, NotificationRow)


async def mark_read(s: AsyncSession, zone_id: int, org_id: uuid.UUID, me: uuid.UUID, notification_id: uuid.UUID
                    ) -> NotificationRow | None:
    """Stamp `read_at` once (a second read keeps the first stamp); None: not the caller's."""
    row = (await s.execute(text(
        "UPDATE tenant.notifications SET read_at = coalesce(read_at, now())"
        " WHERE zone_id = :z AND org_id = :o AND user_id = :me AND id = :id"
        f" RETURNING {_COLUMNS}"), {"z": zone_id, "o": org_id, "me": me, "id": notification_id})).first()
    return NotificationRow(**row._mapping) if row is not None else None


# --- email of notifications (migration 0009; the sender is `email.py`) --------------------------

# Set only here, in the sender's transactions: the own-row policies then pass for every user
# of the zone (the transaction's zone_admin context still bounds it to one zone).
_MAILER_SCOPE = text("SELECT set_config('app.tenant_mailer', 'on', true)")


@dataclass(frozen=True)
class EmailJob:
    id: uuid.UUID
    org_id: uuid.UUID
    org_name: str
    user_id: uuid.UUID
    kind: str
    title: str
    data: dict[str, Any]
    email_attempts: int


@dataclass(frozen=True)
class EmailOutcome:
    id: uuid.UUID
    org_id: uuid.UUID
    status: str  # sent, pending (retry at next_at), failed, skipped
    error: str | None
    retry_in_seconds: float = 0.0


async def skip_stale_emails(s: AsyncSession, zone_id: int, max_age_seconds: float) -> int:
    """Pending emails older than the limit are skipped (email was off or down that long: the
    news is old; the in-app notification stays)."""
    await s.execute(_MAILER_SCOPE)
    return len((await s.execute(text(
        "UPDATE tenant.notifications SET email_status = 'skipped',"
        " email_error = coalesce(email_error || '; ', '') || 'not sent in time'"
        " WHERE zone_id = :z AND email_status = 'pending' AND created_at < now() - make_interval(secs => :age)"
        " RETURNING id"), {"z": zone_id, "age": max_age_seconds})).all())


async def claim_emails(s: AsyncSession, zone_id: int, limit: int, lease_seconds: float) -> list[EmailJob]:
    """Take up to `limit` due pending emails of the zone, oldest first: each try is counted and the
    row is not due again for `lease_seconds` (a sender that dies mid-send leaves it to be retried
    then). SKIP LOCKED: replicas never take the same row."""
    await s.execute(_MAILER_SCOPE)
    rows = (await s.execute(text(
        "WITH due AS (SELECT zone_id, org_id, id FROM tenant.notifications"
        "  WHERE zone_id = :z AND email_status = 'pending' AND email_next_at <= now()"
        "  ORDER BY email_next_at LIMIT :limit FOR UPDATE SKIP LOCKED),"
        " claimed AS (UPDATE tenant.notifications n SET email_attempts = n.email_attempts + 1,"
        "  email_next_at = now() + make_interval(secs => :lease) FROM due"
        "  WHERE (n.zone_id, n.org_id, n.id) = (due.zone_id, due.org_id, due.id)"
        "  RETURNING n.id, n.org_id, n.user_id, n.kind, n.title, n.data, n.email_attempts, n.created_at)"
        " SELECT c.id, c.org_id, o.name AS org_name, c.user_id, c.kind, c.title, c.data, c.email_attempts"
        " FROM claimed c JOIN tenant.orgs o ON o.zone_id = :z AND o.id = c.org_id ORDER BY c.created_at, c.id"),
        {"z": zone_id, "limit": limit, "lease": lease_seconds})).all()
    return [EmailJob(**r._mapping) for r in rows]


async def release_emails(s: AsyncSession, zone_id: int, jobs: Iterable[EmailJob], retry_in_seconds: float,
                         error: str) -> None:
    """Give claimed emails back uncounted (nothing was tried: e.g. auth did not answer)."""
    await s.execute(_MAILER_SCOPE)
    for job in jobs:
        await s.execute(text(
            "UPDATE tenant.notifications SET email_attempts = greatest(email_attempts - 1, 0), email_error = :e,"
            " email_next_at = now() + make_interval(secs => :retry)"
            " WHERE zone_id = :z AND org_id = :o AND id = :id AND email_status = 'pending'"),
            {"z": zone_id, "o": job.org_id, "id": job.id, "retry": retry_in_seconds, "e": error})


async def record_emails(s: AsyncSession, zone_id: int, outcomes: Iterable[EmailOutcome]) -> None:
    """Store what each try came to: sent (`emailed_at`), retry later, failed or skipped."""
    await s.execute(_MAILER_SCOPE)
    for o in outcomes:
        await s.execute(text(
            "UPDATE tenant.notifications SET email_status = :status, email_error = :e,"
            " emailed_at = CASE WHEN CAST(:status AS text) = 'sent' THEN now() END,"
            " email_next_at = now() + make_interval(secs => :retry)"
            " WHERE zone_id = :z AND org_id = :o AND id = :id AND email_status = 'pending'"),
            {"z": zone_id, "o": o.org_id, "id": o.id, "status": o.status, "e": o.error,
             "retry": o.retry_in_seconds})
