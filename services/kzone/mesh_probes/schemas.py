"""Response model of the mesh-probe receipt."""
from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ProbeReceipt(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "probe_id": "0b7f6f8e-3f0c-4c57-9a5e-1d2a3b4c5d6e", "zone": "univ", "entry_service": "exam",
        "received_at": "2026-11-27T12:00:00Z"}]})

    probe_id: uuid.UUID
    zone: str
    entry_service: str
    received_at: datetime
