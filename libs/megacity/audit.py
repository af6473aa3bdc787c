"""Platform audit: who changed what, recorded by the service that made the change.

A service calls `record_audit(session, ...)` inside the transaction of the change; the record
is an ordinary outbox event (`megacity.events.outbox`), so the change and its audit record
commit or vanish together. The relay publishes it as `<ns>.events.audit.<service>.<rest>`
(e.g. `mc.events.audit.tenant.member.role_changed`) on the events stream; auth consumes
`audit.>` idempotently into `auth.platform_audit`, where zone and org admins search it.

Payload (`data` of the envelope; zone, org, id and occurred_at travel in the envelope too):
`{"service", "action", "actor": {"user_id", "role", "kind"}, "target": {"type", "id"},
"before", "after", "trace_id", "occurred_at"}`. `before`/`after` are small summaries of the
fields that changed — never secrets or PII in plain text (names of fields, ids, states).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.db.tenant import TenantContext
from megacity.events.envelope import json_default
from megacity.events.outbox import add_event
from megacity.events.streams import audit_event_type
from megacity.telemetry.tracing import current_trace_id

# `<service>.<what>.<verb>`: lower-case tokens, so the action is also a valid subject tail.
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,5}$")
# A summary, not a copy of the row: keeps one audit record far below the 10 KB event budget.
MAX_SUMMARY_BYTES = 4096
# Longest string kept in a summary (characters); longer ones end in "…". Free text (descriptions)
# is better recorded as `{"description_changed": true}` by the caller.
MAX_SUMMARY_STRING = 200
# (longest string, most items of a list or object) tried in turn until a summary fits.
_TRIM_STEPS: tuple[tuple[int, int], ...] = ((MAX_SUMMARY_STRING, 100), (80, 20), (20, 5))
# Keys that must never be in a summary, whatever a caller passes (checked case-insensitively).
_FORBIDDEN_KEYS = ("password", "secret", "token", "phone", "email", "key_material")


@dataclass(frozen=True)
class AuditActor:
    """Who acted: a signed-in user (id + role from the token) or the system (a job, a consumer)."""

    user_id: uuid.UUID | None
    role: str
    kind: str = "user"  # "user" | "system"

    @classmethod
    def from_principal(cls, principal: Principal) -> AuditActor:
        return cls(user_id=principal.user_id, role=principal.role)

    @classmethod
    def from_context(cls, ctx: TenantContext) -> AuditActor:
        """The user a background job acts for (its tenant context carries who started it)."""
        return cls(user_id=ctx.user_id, role=ctx.role) if ctx.user_id else cls.system(f"{ctx.role}-job")

    @classmethod
    def system(cls, name: str) -> AuditActor:
        """Work no user asked for at that moment (a scheduled job, key rotation run by an operator
        command): `role` holds the job's name."""
        return cls(user_id=None, role=name, kind="system")


def _check_summary(name: str, summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """Refuse secret/PII-looking keys (a caller bug); otherwise clip the summary to its budget.

    Size is never a reason to fail the change being audited: long text is clipped, and a
    summary still over `MAX_SUMMARY_BYTES` (UTF-8, as stored: Korean is 3 bytes a character,
    not the 6 of a `\\uXXXX` escape) is trimmed harder, down to the names of its fields."""
    if summary is None:
        return None
    for key in _walk_keys(summary):
        low = key.lower()
        if any(bad in low for bad in _FORBIDDEN_KEYS):
            raise ValueError(f"audit {name} summary must not hold {key!r} (secrets/PII stay out of the audit log)")
    for max_chars, max_items in _TRIM_STEPS:
        clipped: dict[str, Any] = _clip(summary, max_chars, max_items)
        if summary_bytes(clipped) <= MAX_SUMMARY_BYTES:
            if _dumps(clipped) != _dumps(summary):
                clipped["truncated"] = True
            return clipped
    return {"truncated": True, "fields": [_clip_str(str(k), 40) for k in list(summary)[:50]]}


def _dumps(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, default=json_default)


def summary_bytes(summary: dict[str, Any]) -> int:
    """A summary's size as stored: UTF-8 JSON bytes."""
    return len(_dumps(summary).encode())


def _clip_str(value: str, max_chars: int) -> str:
    return value if len(value) <= max_chars else value[: max_chars - 1] + "…"


def _clip(value: Any, max_chars: int, max_items: int) -> Any:
    if isinstance(value, str):
        return _clip_str(value, max_chars)
    if isinstance(value, dict):
        return {_clip_str(str(k), 80): _clip(v, max_chars, max_items) for k, v in list(value.items())[:max_items]}
    if isinstance(value, list | tuple):
        return [_clip(v, max_chars, max_items) for v in list(value)[:max_items]]
    return value


def _walk_keys(value: Any) -> list[str]:
    keys: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            keys.append(str(k))
            keys.extend(_walk_keys(v))
    elif isinstance(value, list | tuple):
        for v in value:
            keys.extend(_walk_keys(v))
    return keys


async def record_audit(
    session: AsyncSession,
    *,
    schema: str,
    actor: AuditActor | Principal,
    zone_id: int,
    org_id: uuid.UUID | str | None,
    target_type: str,
    target_id: uuid.UUID | str | int,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Queue one audit record in `<schema>.outbox`, in the caller's open transaction.

    `action` is `<service>.<what>.<verb>` (e.g. "tenant.member.role_changed"); its first token
    names the service. The trace id is the current OpenTelemetry span's. Returns the event id,
    which is also the audit record's id in the store (so a redelivery is recognised).
    Raises ValueError for a malformed action or a summary that holds a secret-looking key; a
    summary that is too long is clipped (strings to `MAX_SUMMARY_STRING`, marked "truncated").
    """
    if not _ACTION.match(action):
        raise ValueError(f"bad audit action {action!r}: want '<service>.<what>.<verb>'")
    if not target_type or len(target_type) > 50:
        raise ValueError("target_type must be 1-50 characters")
    who = AuditActor.from_principal(actor) if isinstance(actor, Principal) else actor
    service = action.split(".", 1)[0]
    payload = {
        "service": service,
        "action": action,
        "actor": {"user_id": str(who.user_id) if who.user_id else None, "role": who.role, "kind": who.kind},
        "target": {"type": target_type, "id": str(target_id)},
        "before": _check_summary("before", before),
        "after": _check_summary("after", after),
        "trace_id": current_trace_id(),
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    return await add_event(session, schema, audit_event_type(action), payload, zone_id=zone_id, org_id=org_id)
