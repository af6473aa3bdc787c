"""What travels on the wire: a JSON envelope as the body, identity and trace in headers.

Body: `{"id", "type", "zone_id", "org_id", "occurred_at", "data"}` — the tenant travels in the
body so it survives anything that rewrites headers, and a message read from the DLQ or a
stream dump is self-describing. Headers: `Nats-Msg-Id` (JetStream dedupe and the consumer's
inbox key) and the W3C `traceparent`/`tracestate`.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

MSG_ID = "Nats-Msg-Id"


def json_default(value: Any) -> Any:
    """JSON for the types event payloads commonly hold; anything else is a bug, so it raises."""
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in an event payload")


def dumps(value: Any) -> str:
    return json.dumps(value, default=json_default, separators=(",", ":"))


@dataclass(frozen=True)
class Event:
    """One delivered event, as a consumer's handler sees it."""

    id: str  # Nats-Msg-Id: the producer's outbox event_id
    type: str
    subject: str
    payload: dict[str, Any]
    zone_id: int | None = None
    org_id: uuid.UUID | None = None
    occurred_at: dt.datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delivered: int = 1  # 1 on first delivery; more means a redelivery


def encode(*, event_id: str, event_type: str, payload: dict[str, Any], zone_id: int | None,
           org_id: uuid.UUID | str | None, occurred_at: dt.datetime | None) -> bytes:
    return dumps({
        "id": event_id,
        "type": event_type,
        "zone_id": zone_id,
        "org_id": str(org_id) if org_id else None,
        "occurred_at": occurred_at.isoformat() if occurred_at else None,
        "data": payload,
    }).encode()


def decode(body: bytes, *, msg_id: str, subject: str, headers: dict[str, str], delivered: int) -> Event:
    """Raises ValueError, KeyError or TypeError on a body that is not an envelope."""
    doc = json.loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        raise TypeError("message body is not an event envelope")
    occurred = doc.get("occurred_at")
    return Event(
        id=msg_id,
        type=str(doc["type"]),
        subject=subject,
        payload=doc["data"],
        zone_id=int(doc["zone_id"]) if doc.get("zone_id") is not None else None,
        org_id=uuid.UUID(doc["org_id"]) if doc.get("org_id") else None,
        occurred_at=dt.datetime.fromisoformat(occurred) if occurred else None,
        headers=headers,
        delivered=delivered,
    )
