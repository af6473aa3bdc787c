"""Tenant's use of the platform audit (`megacity.audit`): summaries of roster records.

Students, teachers and parents on the roster hold names, phones and emails; an audit record
keeps which fields changed and only the values that are not personal (grade, class, linked user).
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.tokens import Principal

_PLAIN = ("grade", "class_id", "user_id")


def roster_summary(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in fields.items() if k in _PLAIN}
    out["fields"] = sorted(fields)
    return out


async def audit_roster(s: AsyncSession, principal: Principal, org: uuid.UUID, kind: str, record_id: uuid.UUID,
                       verb: str, fields: dict[str, Any] | None = None) -> None:
    """`tenant.<kind>.<verb>` (kind: student | teacher | parent) in the transaction of the change."""
    summary = roster_summary(fields) if fields is not None else None
    await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                       target_type=kind, target_id=record_id, action=f"tenant.{kind}.{verb}",
                       before={"status": "live"} if verb == "deleted" else None,
                       after={"status": "deleted"} if verb == "deleted" else summary)
