"""Domain events over NATS JetStream: transactional outbox -> relay -> idempotent consumers.

Producer: `add_event(session, schema, type, payload, zone_id=..., org_id=...)` inside the
business transaction; one `OutboxRelay` per service publishes. Consumer: an
`IdempotentConsumer` whose handler runs in the same transaction as its inbox row. Streams and
subjects are named from `settings.events_namespace` (see `streams`).
"""
from megacity.db.tenant import set_tenant
from megacity.events.consumer import Handler, IdempotentConsumer
from megacity.events.envelope import Event
from megacity.events.outbox import add_event, outbox_ddl, outbox_drop_ddl, prune
from megacity.events.relay import OutboxRelay
from megacity.events.streams import (
    dlq_stream,
    dlq_subject,
    ensure_streams,
    events_filter,
    events_stream,
    subject,
)

__all__ = [
    "Event",
    "Handler",
    "IdempotentConsumer",
    "OutboxRelay",
    "add_event",
    "dlq_stream",
    "dlq_subject",
    "ensure_streams",
    "events_filter",
    "events_stream",
    "outbox_ddl",
    "outbox_drop_ddl",
    "prune",
    "set_tenant",
    "subject",
]
