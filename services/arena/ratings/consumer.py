"""The `arena.match.finished` consumer (an IdempotentConsumer: once per message id) that applies a
finished match's ratings and statistics — once per match too, whatever message carries it — and,
after the commit, updates the boards and pushes `rating_change` frames to both players."""
from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.db import TenantContext, set_tenant
from megacity.db.after_commit import after_commit
from megacity.events.envelope import Event
from megacity.runtime import Resources
from services.arena.ratings import service
from services.arena.settings import ArenaSettings


async def handle(session: AsyncSession, event: Event, res: Resources) -> None:
    """Apply the match the event names (payload: match_id; the zone from the envelope)."""
    zone_id = int(event.zone_id or event.payload["zone_id"])
    match_id = uuid.UUID(str(event.payload["match_id"]))
    await set_tenant(session, TenantContext(zone_id, role="zone_admin"))
    settings: ArenaSettings = res.settings  # type: ignore[assignment]
    applied = await service.apply_match_result(session, zone_id, match_id, settings)
    if applied is not None:
        after_commit(session, lambda: service.publish(res, applied), f"ratings of match {match_id}")
