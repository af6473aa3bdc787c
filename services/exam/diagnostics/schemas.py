"""Request and response models of the mesh probe."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response

UNKNOWN_HOST = problem_response(404, "zone.unknown_host", "No zone serves this host")
TENANT_DOWN = problem_response(503, "dependency.tenant_unavailable", "The tenant service did not answer")


class ProbeIn(BaseModel):
    note: str = Field("", max_length=500, description="free text kept with the probe")


class ProbeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "probe_id": "0b7f6f8e-3f0c-4c57-9a5e-1d2a3b4c5d6e", "zone": "univ", "entry_service": "exam",
        "recorded_by": "tenant", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}]})

    probe_id: str
    zone: str
    entry_service: str
    recorded_by: str
    trace_id: str | None
