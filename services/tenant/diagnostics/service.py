"""The mesh probe: recorded with the current trace id, and announced as
`diagnostics.probe.recorded` through the outbox."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.runtime import Resources
from megacity.telemetry.tracing import current_trace_id
from megacity.zones import registry
from services.tenant.diagnostics import queries

MAX_NOTE = 500


@dataclass(frozen=True)
class MeshProbe:
    id: uuid.UUID
    zone_id: int
    entry_service: str
    trace_id: str | None


async def record_mesh_probe(res: Resources, zone_id: int, entry_service: str, note: str) -> MeshProbe:
    """Record a probe in an existing zone (the caller checked it) from a MegaCity service."""
    if not entry_service or entry_service not in registry().services:
        raise AppError(400, "probe.unknown_service", "entry_service must name a MegaCity service")
    trace_id = current_trace_id()
    async with tenant_transaction(res.db(), TenantContext(zone_id=zone_id)) as s:
        probe_id = await queries.insert_probe(s, zone_id, entry_service, note[:MAX_NOTE], trace_id)
        await add_event(s, "tenant", "diagnostics.probe.recorded",
                        {"probe_id": str(probe_id), "zone_id": zone_id, "entry_service": entry_service},
                        zone_id=zone_id)
    return MeshProbe(probe_id, zone_id, entry_service, trace_id)
