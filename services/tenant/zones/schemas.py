"""Response model of /api/v1/zone."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ZoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"key": "univ", "id": 1, "name": "University Prep", "domains": ["univprepai.com"]}]})

    key: str
    id: int
    name: str
    domains: list[str]
