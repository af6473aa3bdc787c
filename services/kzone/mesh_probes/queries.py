"""SQL of the mesh-probe receipts (`kzone.mesh_probe_receipts`, zone-level RLS)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ReceiptRow:
    probe_id: uuid.UUID
    entry_service: str
    received_at: dt.datetime


async def receipt(session: AsyncSession, probe_id: uuid.UUID) -> ReceiptRow | None:
    row = (await session.execute(text(
        "SELECT probe_id, entry_service, received_at FROM kzone.mesh_probe_receipts WHERE probe_id = :id"),
        {"id": probe_id})).first()
    return ReceiptRow(row.probe_id, row.entry_service, row.received_at) if row is not None else None


async def insert_receipt(session: AsyncSession, *, probe_id: uuid.UUID, zone_id: int, entry_service: str,
                         event_id: str) -> None:
    await session.execute(text(
        "INSERT INTO kzone.mesh_probe_receipts (probe_id, zone_id, entry_service, event_id)"
        " VALUES (:probe_id, :zone_id, :entry, :event_id)"),
        {"probe_id": probe_id, "zone_id": zone_id, "entry": entry_service, "event_id": event_id})
