"""SQL of mesh probes (`tenant.mesh_probes`, zone-level RLS)."""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_probe(s: AsyncSession, zone_id: int, entry_service: str, note: str,
                       trace_id: str | None) -> uuid.UUID:
    return (await s.execute(text(
        "INSERT INTO tenant.mesh_probes (zone_id, entry_service, note, trace_id)"
        " VALUES (:zone_id, :entry, :note, :trace_id) RETURNING id"),
        {"zone_id": zone_id, "entry": entry_service, "note": note, "trace_id": trace_id})).scalar_one()
