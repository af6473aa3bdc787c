"""Stream and subject names, all derived from one namespace.

Production runs with namespace "mc" (`settings.events_namespace`); each test gets a unique one,
so tests never see each other's streams. Everything lives in two streams per namespace:

- `<NS>_EVENTS` holding `<ns>.events.>`: domain events, e.g. `mc.events.org.created`;
- `<NS>_DLQ` holding `<ns>.dlq.>`: messages a consumer gave up on, same subject tail.

Platform audit records (`megacity.audit`) are events too: `audit.<service>.<what>.<verb>` in
`<NS>_EVENTS` (e.g. `mc.events.audit.tenant.member.role_changed`), so they share the outbox,
relay, dedupe window and DLQ; auth's durable `auth-audit` consumer (filter `audit.>`) stores
them. The stream's max age bounds how long auth may be down before audit records are lost.
"""
from __future__ import annotations

import re

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

# Long enough to cover a relay crash and restart; JetStream drops a repeated Nats-Msg-Id in it.
DUPLICATE_WINDOW_S = 120.0
EVENTS_MAX_AGE_S = 7 * 24 * 3600.0
DLQ_MAX_AGE_S = 30 * 24 * 3600.0

_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_TOKEN = r"[A-Za-z0-9_-]+"
_TAIL = re.compile(rf"^{_TOKEN}(\.{_TOKEN})*$")
_FILTER = re.compile(rf"^({_TOKEN}|\*)(\.({_TOKEN}|\*))*(\.>)?$|^>$")


def _ns(namespace: str) -> str:
    if not _NAMESPACE.match(namespace):
        raise ValueError(f"bad events namespace {namespace!r}")
    return namespace


def check_tail(tail: str) -> str:
    """A subject tail (the part after `<ns>.events.`): dot-separated tokens, no wildcards."""
    if not _TAIL.match(tail):
        raise ValueError(f"bad event subject {tail!r}")
    return tail


AUDIT_PREFIX = "audit"
AUDIT_FILTER = f"{AUDIT_PREFIX}.>"  # the auth audit consumer's filter under `<ns>.events.`


def audit_event_type(action: str) -> str:
    """`audit_event_type("tenant.member.role_changed") == "audit.tenant.member.role_changed"`."""
    return check_tail(f"{AUDIT_PREFIX}.{action}")


def events_stream(namespace: str) -> str:
    return f"{_ns(namespace).upper()}_EVENTS"


def dlq_stream(namespace: str) -> str:
    return f"{_ns(namespace).upper()}_DLQ"


def events_prefix(namespace: str) -> str:
    return f"{_ns(namespace)}.events."


def subject(namespace: str, event_type: str) -> str:
    """`subject("mc", "org.created") == "mc.events.org.created"`."""
    return events_prefix(namespace) + check_tail(event_type)


def events_filter(namespace: str, pattern: str) -> str:
    """A consumer filter such as `org.*` or `roster.>` under the events prefix."""
    if not _FILTER.match(pattern):
        raise ValueError(f"bad subject filter {pattern!r}")
    return events_prefix(namespace) + pattern


def dlq_subject(namespace: str, event_subject: str) -> str:
    """Where a given-up message goes: `mc.events.org.created` -> `mc.dlq.org.created`."""
    prefix = events_prefix(namespace)
    tail = event_subject.removeprefix(prefix)
    return f"{_ns(namespace)}.dlq.{check_tail(tail)}"


def stream_configs(namespace: str) -> list[StreamConfig]:
    def config(name: str, subjects: str, max_age: float) -> StreamConfig:
        return StreamConfig(name=name, subjects=[subjects], max_age=max_age,
                            retention=RetentionPolicy.LIMITS,  # many consumers read one stream; age, not acks, expires it
                            storage=StorageType.FILE, discard=DiscardPolicy.OLD, duplicate_window=DUPLICATE_WINDOW_S)

    return [config(events_stream(namespace), f"{_ns(namespace)}.events.>", EVENTS_MAX_AGE_S),
            config(dlq_stream(namespace), f"{_ns(namespace)}.dlq.>", DLQ_MAX_AGE_S)]


async def ensure_streams(js: JetStreamContext, namespace: str) -> None:
    """Create both streams, or bring an existing one to this config. Safe to call on every start."""
    for config in stream_configs(namespace):
        try:
            await js.add_stream(config)
        except BadRequestError:  # exists with another config (or created concurrently)
            await js.update_stream(config)
