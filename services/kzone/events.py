"""The events K-Zone consumes, turned into calls of its features' services (the consumer face,
as routes.py is the HTTP face): `diagnostics.probe.recorded` → mesh_probes, `ai.result.*` →
ai_results. Each handler runs in the idempotent consumer's transaction."""
from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.events import Event
from megacity.job_progress import JobProgress
from megacity.runtime import EventHandler, Resources
from services.kzone.ai_results import service as ai_results
from services.kzone.mesh_probes import service as mesh_probes
from services.kzone.service_state import KzoneState


async def on_probe_recorded(session: AsyncSession, event: Event, res: Resources) -> None:
    """Record that the probe's event reached K-Zone (the inbox makes redeliveries no-ops)."""
    if event.zone_id is None:
        raise ValueError("a probe event names its zone")
    await mesh_probes.record_probe(session, mesh_probes.ProbeRecorded(
        zone_id=int(event.zone_id), probe_id=uuid.UUID(event.payload["probe_id"]),
        entry_service=event.payload["entry_service"], event_id=event.id))


def make_result_handler(state: KzoneState) -> EventHandler:
    """The `ai.result.*` handler, bound to this process's storage."""

    async def on_ai_result(session: AsyncSession, event: Event, res: Resources) -> None:
        p = event.payload
        result = p.get("result")
        await ai_results.record_result(session, JobProgress(res.redis, res.keys), state.storage, ai_results.AiResult(
            event_id=event.id, job_id=uuid.UUID(str(p["job_id"])), zone_id=int(p.get("zone_id") or event.zone_id or 0),
            org_id=uuid.UUID(str(p.get("org_id") or event.org_id)), kind=p.get("kind"), status=p.get("status"),
            result=result if isinstance(result, dict) else {}, error=p.get("error")))

    return on_ai_result
