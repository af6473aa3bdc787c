"""The transactional outbox (producer side) and the inbox (consumer side) of one service schema.

An event is a row written in the same transaction as the business change, so it exists if and
only if the change committed; the relay publishes it later. The inbox remembers which message
ids a consumer has processed, inside the consumer's own transaction, so a redelivery is a no-op.

Both are infrastructure tables, not tenant tables: no RLS (the relay and consumers work across
tenants). Create them from the service's migration, as its owner role, so the app role gets DML
through the schema's default privileges:

    for statement in outbox_ddl("tenant"):
        op.execute(statement)
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from opentelemetry import propagate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.events.envelope import dumps
from megacity.events.streams import check_tail

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def qualified(schema: str, table: str) -> str:
    """`"schema"."table"` after checking both are plain identifiers (never user input in SQL)."""
    for ident in (schema, table):
        if not _IDENT.match(ident):
            raise ValueError(f"bad identifier {ident!r}")
    return f'"{schema}"."{table}"'


def outbox_ddl(schema: str) -> list[str]:
    """Statements creating `<schema>.outbox` and `<schema>.inbox`; idempotent."""
    outbox, inbox = qualified(schema, "outbox"), qualified(schema, "inbox")
    return [
        # id orders publication; event_id is the global identity (Nats-Msg-Id). A per-schema
        # counter would collide across services in one stream, and repeat after a restore.
        f"""CREATE TABLE IF NOT EXISTS {outbox} (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
            event_type text NOT NULL,
            subject text NOT NULL,
            payload jsonb NOT NULL,
            zone_id int,
            org_id uuid,
            traceparent text,
            tracestate text,
            created_at timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        )""",
        # The relay only ever looks for unpublished rows; keep that index tiny.
        f"CREATE INDEX IF NOT EXISTS outbox_unpublished ON {outbox} (id) WHERE published_at IS NULL",
        f"""CREATE TABLE IF NOT EXISTS {inbox} (
            consumer text NOT NULL,
            msg_id text NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, msg_id)
        )""",
    ]


def outbox_drop_ddl(schema: str) -> list[str]:
    """The downgrade of `outbox_ddl`."""
    return [f"DROP TABLE IF EXISTS {qualified(schema, 'inbox')}",
            f"DROP TABLE IF EXISTS {qualified(schema, 'outbox')}"]


async def add_event(
    session: AsyncSession,
    schema: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    zone_id: int | None = None,
    org_id: uuid.UUID | str | None = None,
) -> uuid.UUID:
    """Queue an event in the caller's open transaction; it commits or rolls back with it.

    The current trace context is stored with the row, so the consumer's span joins the trace
    of the request that caused the event. Returns the event id (the message's Nats-Msg-Id).
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    event_id = uuid.uuid4()
    await session.execute(
        text(
            f"INSERT INTO {qualified(schema, 'outbox')}"
            " (event_id, event_type, subject, payload, zone_id, org_id, traceparent, tracestate)"
            " VALUES (:event_id, :event_type, :subject, CAST(:payload AS jsonb), :zone_id, :org_id,"
            " :traceparent, :tracestate)"
        ),
        {
            "event_id": event_id,
            "event_type": event_type,
            # Relative to `<ns>.events.` so the relay's namespace decides the full subject.
            "subject": check_tail(event_type),
            "payload": dumps(payload),
            "zone_id": zone_id,
            "org_id": uuid.UUID(str(org_id)) if org_id else None,
            "traceparent": carrier.get("traceparent"),
            "tracestate": carrier.get("tracestate"),
        },
    )
    return event_id


async def add_events(
    session: AsyncSession,
    schema: str,
    event_type: str,
    payloads: list[dict[str, Any]],
    *,
    zone_id: int | None = None,
    org_id: uuid.UUID | str | None = None,
) -> int:
    """`add_event` for many events of one type and tenant in one statement (a batch of answers
    written together); the trace context is the caller's, as for one. Returns how many."""
    if not payloads:
        return 0
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    await session.execute(
        text(
            f"INSERT INTO {qualified(schema, 'outbox')}"
            " (event_type, subject, payload, zone_id, org_id, traceparent, tracestate)"
            " SELECT :event_type, :subject, p, :zone_id, :org_id, :traceparent, :tracestate"
            " FROM unnest(CAST(:payloads AS jsonb[])) AS p"
        ),
        {
            "event_type": event_type,
            "subject": check_tail(event_type),
            "payloads": [dumps(p) for p in payloads],
            "zone_id": zone_id,
            "org_id": uuid.UUID(str(org_id)) if org_id else None,
            "traceparent": carrier.get("traceparent"),
            "tracestate": carrier.get("tracestate"),
        },
    )
    return len(payloads)


async def prune(session: AsyncSession, schema: str, *, older_than: dt.timedelta,
                limit: int = 5000) -> tuple[int, int]:
    """Delete published outbox rows and inbox entries older than `older_than`, at most `limit` of
    each (oldest outbox ids first): a large backlog goes in short transactions, one call each,
    until both counts come back below `limit` (megacity.retention loops so).

    Keep `older_than` well past the longest redelivery horizon (max_deliver x backoff), or a
    late redelivery would be processed twice. Returns (outbox rows, inbox rows) deleted.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    params = {"cutoff": dt.datetime.now(dt.UTC) - older_than, "n": limit}
    outbox, inbox = qualified(schema, "outbox"), qualified(schema, "inbox")
    out = await session.execute(text(
        f"DELETE FROM {outbox} WHERE id IN (SELECT id FROM {outbox} WHERE published_at < :cutoff"
        " ORDER BY id LIMIT :n)"), params)
    inb = await session.execute(text(
        f"DELETE FROM {inbox} WHERE (consumer, msg_id) IN (SELECT consumer, msg_id FROM {inbox}"
        " WHERE processed_at < :cutoff LIMIT :n)"), params)
    return out.rowcount, inb.rowcount  # type: ignore[attr-defined]  # CursorResult of a DELETE
