"""SQL of the audit feature: searching auth's own log `auth.audit_logs` (written by
`services.auth.audit_log`), storing the platform audit `auth.platform_audit` (every service's
`megacity.audit` records, via the `auth-audit` consumer) and searching both as one listing."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class AuditQuery:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    user_id: uuid.UUID | None = None
    action: str | None = None  # exact, or a prefix ending in ".*" (e.g. "auth.login.*")
    before_id: int | None = None  # cursor: entries older than this id
    limit: int = 50


class AuditRow(NamedTuple):
    id: int
    zone_id: int
    org_id: uuid.UUID | None
    user_id: uuid.UUID | None
    action: str
    address: str | None
    user_agent: str | None
    details: dict[str, Any]
    created_at: dt.datetime


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search(session: AsyncSession, zone_id: int, q: AuditQuery) -> list[AuditRow]:
    """Newest first, keyset-paginated on id. The WHERE clause is built from fixed fragments;
    every value is a bound parameter."""
    where = ["zone_id = :zone_id"]
    params: dict[str, Any] = {"zone_id": zone_id, "limit": q.limit}
    if q.since is not None:
        where.append("created_at >= :since")
        params["since"] = q.since
    if q.until is not None:
        where.append("created_at < :until")
        params["until"] = q.until
    if q.user_id is not None:
        where.append("user_id = :user_id")
        params["user_id"] = q.user_id
    if q.action:
        if q.action.endswith(".*"):
            where.append("action LIKE :action")
            params["action"] = _like_prefix(q.action[:-1])
        else:
            where.append("action = :action")
            params["action"] = q.action
    if q.before_id is not None:
        where.append("id < :before_id")
        params["before_id"] = q.before_id
    sql = ("SELECT id, zone_id, org_id, user_id, action, address, user_agent, details, created_at"
           f" FROM auth.audit_logs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT :limit")
    return [AuditRow(*r) for r in await session.execute(text(sql), params)]


# --- the platform audit (auth.platform_audit, fed by every service's outbox) ---------------

_INSERT_PLATFORM = text(
    "INSERT INTO auth.platform_audit (id, zone_id, org_id, service, action, actor_user_id, actor_role, actor_kind,"
    " target_type, target_id, before, after, trace_id, occurred_at)"
    " VALUES (:id, :zone_id, :org_id, :service, :action, :actor_user_id, :actor_role, :actor_kind,"
    " :target_type, :target_id, CAST(:before AS jsonb), CAST(:after AS jsonb), :trace_id, :occurred_at)"
    " ON CONFLICT (id) DO NOTHING")


@dataclass(frozen=True)
class PlatformRecord:
    """One audit record as the consumer stores it (validated from the event)."""

    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID | None
    service: str
    action: str
    actor_user_id: uuid.UUID | None
    actor_role: str
    actor_kind: str
    target_type: str
    target_id: str
    before: str | None  # JSON text
    after: str | None
    trace_id: str | None
    occurred_at: dt.datetime


async def insert_platform(session: AsyncSession, r: PlatformRecord) -> bool:
    """Store one record; False when its id is already there (a replay after an inbox prune)."""
    result = await session.execute(_INSERT_PLATFORM, r.__dict__)
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an INSERT


@dataclass(frozen=True)
class PlatformQuery:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    service: str | None = None
    action_prefix: str | None = None
    actor_user_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    org_id: uuid.UUID | None = None
    after: tuple[dt.datetime, str] | None = None  # cursor: entries older than (occurred_at, key)
    limit: int = 50
    # Read auth's own log too: zone admins only (RLS hides it from anyone else; not reading it
    # spares an org admin's page a scan of the zone's whole log for rows it may not see).
    include_auth: bool = True


class PlatformRow(NamedTuple):
    key: str
    event_id: uuid.UUID | None
    zone_id: int
    org_id: uuid.UUID | None
    service: str
    action: str
    actor_user_id: uuid.UUID | None
    actor_role: str | None
    actor_kind: str
    target_type: str | None
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    trace_id: str | None
    occurred_at: dt.datetime


# Both sources under one shape. Order: (occurred_at, key) newest first, where `key` is
# 'p' + seq (platform records) or 'a' + id (auth's own log), zero-padded so text order is
# numeric order; at the same instant platform records come before auth entries ('p' > 'a').
# `key` is also the record's stable id in the API and the cursor's tiebreak.
KEY_DIGITS = 19

# What of an auth entry's `details` the platform listing shows: an allow-list, so a new key
# (an email, a phone, a login id) stays in auth's own log unless it is added here on purpose.
AUTH_DETAIL_KEYS = (
    "reason", "role", "previous_role", "platform_role", "permission", "method", "path", "mfa",
    "enrollment_required", "sid", "sids", "revoked_sids", "by_sid", "by", "event_id", "email_id",
    "target_user_id", "from", "to", "people", "created", "linked", "existing", "codes",
    "recovery_codes", "remaining", "kid", "previous_kid", "key_id", "rotated", "rows", "tables")
assert all(re.fullmatch(r"[a-z_]+", k) for k in AUTH_DETAIL_KEYS)  # they are inlined into the SQL below
_AUTH_DETAILS = ("COALESCE((SELECT jsonb_object_agg(d.key, d.value) FROM jsonb_each(details) AS d"
                 f" WHERE d.key IN ({', '.join(repr(k) for k in AUTH_DETAIL_KEYS)})), '{{}}'::jsonb)")

_PLATFORM_SELECT = (
    f"SELECT 'p' || lpad(seq::text, {KEY_DIGITS}, '0') AS key, id AS event_id, zone_id, org_id, service, action,"
    " actor_user_id, actor_role, actor_kind, target_type, target_id, before, after, trace_id, occurred_at"
    " FROM auth.platform_audit")
# An auth entry made by a command (`details.by`: "cli", "demo_seed", "key-rotate") has a system
# actor; its user_id is then the account acted on, not the actor.
_AUTH_SELECT = (
    f"SELECT 'a' || lpad(id::text, {KEY_DIGITS}, '0') AS key, NULL::uuid AS event_id, zone_id, org_id,"
    " 'auth' AS service, action, CASE WHEN details ? 'by' THEN NULL ELSE user_id END AS actor_user_id,"
    " details->>'by' AS actor_role, CASE WHEN details ? 'by' THEN 'system' ELSE 'user' END AS actor_kind,"
    " CASE WHEN user_id IS NULL THEN NULL ELSE 'user' END AS target_type, user_id::text AS target_id,"
    f" NULL::jsonb AS before, {_AUTH_DETAILS} AS after, NULL::text AS trace_id, created_at AS occurred_at"
    " FROM auth.audit_logs")


class _Source(NamedTuple):
    tag: str  # the key's first letter
    select: str
    time: str  # the time column, as in the indexes
    seq: str  # the unique increasing tiebreak column
    cols: dict[str, str]  # filter name -> SQL of this source
    before_other: bool  # at the same instant, this source's rows come before the other's


_PLATFORM = _Source("p", _PLATFORM_SELECT, "occurred_at", "seq", {
    "actor_user_id": "actor_user_id = :actor_user_id", "target_type": "target_type = :target_type",
    "target_id": "target_id = :target_id", "service": "service = :service"}, before_other=True)
_AUTH = _Source("a", _AUTH_SELECT, "created_at", "id", {
    "actor_user_id": "user_id = :actor_user_id AND NOT details ? 'by'",
    "target_type": "(CASE WHEN user_id IS NULL THEN NULL ELSE 'user' END) = :target_type",
    "target_id": "user_id::text = :target_id"}, before_other=False)


def parse_key(key: str) -> tuple[str, int]:
    """('p'|'a', number) of a record key; ValueError for anything else (a cursor is signed, but
    its key must still be one this listing made before it reaches SQL)."""
    if len(key) != KEY_DIGITS + 1 or key[0] not in "pa" or not key[1:].isdigit():
        raise ValueError(f"not an audit record key: {key!r}")
    return key[0], int(key[1:])


def _branch(src: _Source, q: PlatformQuery) -> str:
    """One source's query from fixed fragments: filtered, in the listing's order and limited,
    so each source is read newest first along its (zone, [org,] time, seq) index and stops
    after `limit` rows — never a scan and sort of the zone's whole history."""
    where = ["zone_id = :zone_id"]
    if q.since is not None:
        where.append(f"{src.time} >= :since")
    if q.until is not None:
        where.append(f"{src.time} < :until")
    if q.action_prefix:
        where.append("action LIKE :action_like")
    for name, value in (("actor_user_id", q.actor_user_id), ("target_type", q.target_type),
                        ("target_id", q.target_id)):
        if value is not None:
            where.append(src.cols[name])
    if q.org_id is not None:
        where.append("org_id = :org_id")
    if q.service is not None and "service" in src.cols:
        where.append(src.cols["service"])
    if q.after is not None:
        tag, _ = parse_key(q.after[1])
        if tag == src.tag:  # the cursor row is ours: strictly after it, on our own index
            where.append(f"({src.time}, {src.seq}) < (:after_at, :after_n)")
        elif src.before_other:  # our rows at the cursor's instant were all before it
            where.append(f"{src.time} < :after_at")
        else:  # our rows at the cursor's instant all come after it
            where.append(f"{src.time} <= :after_at")
    return f"{src.select} WHERE {' AND '.join(where)} ORDER BY {src.time} DESC, {src.seq} DESC LIMIT :limit"


def platform_statement(zone_id: int, q: PlatformQuery) -> tuple[str, dict[str, Any]]:
    """The listing's SQL and its bound values: each source gives its newest `limit` rows after
    the cursor, the union of those is sorted and cut to `limit`."""
    after_n = parse_key(q.after[1])[1] if q.after else None
    params: dict[str, Any] = {
        "zone_id": zone_id, "limit": q.limit, "since": q.since, "until": q.until,
        "action_like": _like_prefix(q.action_prefix) if q.action_prefix else None,
        "actor_user_id": q.actor_user_id, "target_type": q.target_type, "target_id": q.target_id,
        "org_id": q.org_id, "service": q.service,
        "after_at": q.after[0] if q.after else None, "after_n": after_n}
    branches = [_branch(_PLATFORM, q)]
    if q.include_auth and q.service in (None, "auth"):
        branches.append(_branch(_AUTH, q))
    sql = (f"SELECT * FROM ({' UNION ALL '.join(f'({b})' for b in branches)}) AS u"
           " ORDER BY occurred_at DESC, key DESC LIMIT :limit")
    return sql, {k: v for k, v in params.items() if f":{k}" in sql}


async def search_platform(session: AsyncSession, zone_id: int, q: PlatformQuery) -> list[PlatformRow]:
    """Newest first over the platform audit and auth's own log, keyset-paginated on
    (occurred_at, key). RLS decides which rows exist for the caller (org admins: their org;
    auth's own log: zone admins only). Every value is a bound parameter."""
    sql, params = platform_statement(zone_id, q)
    return [PlatformRow(*r) for r in await session.execute(text(sql), params)]
