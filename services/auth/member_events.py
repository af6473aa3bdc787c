"""Reactions to tenant's membership events: a changed or removed org role ends every session of
that user (they log in again and get the role tenant now says), at once everywhere through the
Redis denylist, and announced as `auth.revoked`."""
from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.verifier import deny_sessions
from megacity.db import TenantContext, set_tenant
from megacity.events.envelope import Event
from megacity.events.outbox import add_event
from megacity.runtime import ConsumerSpec, Resources
from services.auth import audit_log, sessions
from services.auth.db_scope import set_scope

REVOKING = {"member.role_changed": "role_changed", "member.removed": "membership_removed"}


async def on_member_event(session: AsyncSession, event: Event, res: Resources) -> None:
    reason = REVOKING.get(event.type)
    zone_id = event.zone_id
    if reason is None or zone_id is None or not event.payload.get("user_id"):
        return
    user_id = uuid.UUID(str(event.payload["user_id"]))
    await set_tenant(session, TenantContext(zone_id=zone_id))
    await set_scope(session, "service")
    sids = await sessions.revoke_all(session, zone_id, user_id, reason)
    await audit_log.record(session, zone_id=zone_id, action="auth.sessions.revoked", user_id=user_id,
                       org_id=event.org_id, details={"reason": reason, "event_id": event.id, "sids": sids,
                                                     "role": event.payload.get("role"),
                                                     "previous_role": event.payload.get("previous_role")})
    if sids:
        await add_event(session, "auth", "auth.revoked", {"user_id": str(user_id), "sids": sids, "reason": reason},
                        zone_id=zone_id, org_id=event.org_id)
        await deny_sessions(res.redis, res.keys, zone_id, sids, res.cache)


CONSUMER = ConsumerSpec(durable="member-changes", event_types="member.*", handler=on_member_event)
