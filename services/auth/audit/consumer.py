"""Auth's consumer of every service's audit records (`audit.>` events, `megacity.audit`): each
is stored once in `auth.platform_audit`, whatever the redeliveries (inbox + the event id as key).

A record that cannot be valid (no zone, a malformed actor or target, an action that is not its
event type's or not its service's, a time more than 5 minutes ahead) raises, so it is retried
and then dead-lettered with the reason — never silently dropped, never half-stored.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.db import TenantContext, set_tenant
from megacity.events.envelope import Event, json_default
from megacity.events.streams import AUDIT_FILTER, audit_event_type
from megacity.runtime import ConsumerSpec, Resources
from services.auth.audit import queries
from services.auth.db_scope import set_scope

DURABLE = "audit"  # JetStream and the inbox name it `auth-audit` (<service>-<durable>)
# A producer's clock may run a little ahead; a record further in the future is refused (it
# would stay at the top of the newest-first listing).
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)


def _summary(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError("audit before/after must be an object")
    return json.dumps(value, default=json_default)


def record_of(event: Event) -> queries.PlatformRecord:
    """The stored form of one audit event; raises ValueError/TypeError/KeyError when malformed."""
    if event.zone_id is None:
        raise ValueError("audit event without a zone")
    p = event.payload
    actor, target = p["actor"], p["target"]
    if not isinstance(actor, dict) or not isinstance(target, dict):
        raise TypeError("audit actor/target must be objects")
    service, action = str(p["service"]), str(p["action"])
    if event.type != audit_event_type(action) or action.split(".", 1)[0] != service:
        raise ValueError(f"audit event {event.type!r} does not match its action {action!r} / service {service!r}")
    occurred = p.get("occurred_at")
    occurred_at = dt.datetime.fromisoformat(occurred) if isinstance(occurred, str) else event.occurred_at
    if occurred_at is None or occurred_at.tzinfo is None:
        raise ValueError("audit event without an aware occurred_at")
    if occurred_at > dt.datetime.now(dt.UTC) + MAX_CLOCK_SKEW:  # would sit on top of every listing
        raise ValueError(f"audit event from the future ({occurred_at.isoformat()})")
    trace_id = p.get("trace_id")
    return queries.PlatformRecord(
        id=uuid.UUID(event.id), zone_id=event.zone_id, org_id=event.org_id,
        service=service, action=action,
        actor_user_id=uuid.UUID(actor["user_id"]) if actor.get("user_id") else None,
        actor_role=str(actor["role"]), actor_kind=str(actor.get("kind") or "user"),
        target_type=str(target["type"]), target_id=str(target["id"]),
        before=_summary(p.get("before")), after=_summary(p.get("after")),
        trace_id=str(trace_id) if trace_id else None, occurred_at=occurred_at)


async def on_audit_event(session: AsyncSession, event: Event, res: Resources) -> None:
    record = record_of(event)
    await set_tenant(session, TenantContext(zone_id=record.zone_id))
    await set_scope(session, "service")
    await queries.insert_platform(session, record)


CONSUMER = ConsumerSpec(durable=DURABLE, event_types=AUDIT_FILTER, handler=on_audit_event)
