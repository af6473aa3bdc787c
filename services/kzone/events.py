"""Events K-Zone consumes."""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.db import TenantContext, set_tenant
from megacity.runtime import Resources


async def on_probe_recorded(session: AsyncSession, event, res: Resources) -> None:
    """Record that the probe's event reached K-Zone (the inbox makes redeliveries no-ops)."""
    await set_tenant(session, TenantContext(zone_id=int(event.zone_id)))
    await session.execute(text(
        "INSERT INTO kzone.mesh_probe_receipts (probe_id, zone_id, entry_service, event_id)"
        " VALUES (:probe_id, :zone_id, :entry, :event_id)"),
        {"probe_id": uuid.UUID(event.payload["probe_id"]), "zone_id": int(event.zone_id),
         "entry": event.payload["entry_service"], "event_id": event.id})
