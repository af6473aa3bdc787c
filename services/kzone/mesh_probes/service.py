"""Mesh probes: record that a probe's event reached K-Zone, and answer whether it did."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.db import TenantContext, set_tenant, tenant_transaction
from megacity.errors import AppError
from megacity.zones import Zone
from services.kzone.mesh_probes import queries
from services.kzone.mesh_probes.queries import ReceiptRow


@dataclass(frozen=True)
class ProbeRecorded:
    """A `diagnostics.probe.recorded` event."""

    zone_id: int
    probe_id: uuid.UUID
    entry_service: str
    event_id: str


async def record_probe(session: AsyncSession, probe: ProbeRecorded) -> None:
    """In the consumer's transaction (the inbox makes redeliveries no-ops)."""
    await set_tenant(session, TenantContext(zone_id=probe.zone_id))
    await queries.insert_receipt(session, probe_id=probe.probe_id, zone_id=probe.zone_id,
                                 entry_service=probe.entry_service, event_id=probe.event_id)


async def probe_receipt(db: async_sessionmaker[AsyncSession], zone: Zone, probe_id: uuid.UUID) -> ReceiptRow:
    """The receipt in this zone; 404 `probe.not_received` while there is none."""
    async with tenant_transaction(db, TenantContext(zone_id=zone.id)) as session:
        row = await queries.receipt(session, probe_id)
    if row is None:
        raise AppError(404, "probe.not_received", f"probe {probe_id} has not reached kzone in zone {zone.key}")
    return row
