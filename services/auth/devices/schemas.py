"""Response models of "my sessions"."""
from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class DeviceOut(BaseModel):
    id: uuid.UUID = Field(description="the session id (`sid` of its access tokens)")
    user_agent: str | None = Field(description="the browser or app that signed in")
    address: str | None = Field(description="the client address at sign-in")
    role: str
    org_id: uuid.UUID | None
    mfa_verified: bool
    created_at: dt.datetime = Field(description="sign-in time")
    last_used_at: dt.datetime = Field(description="last token refresh (access tokens live 15 minutes)")
    expires_at: dt.datetime
    current: bool = Field(description="the session of the token that asked")


class DevicesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "id": "0b7e5a6c-2f0d-4c55-9a8e-1f3d2c4b5a69",
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1",
        "address": "203.0.113.7", "role": "student", "org_id": "5d1c3f0e-8a7b-4e6f-9d2c-1b0a9f8e7d6c",
        "mfa_verified": False, "created_at": "2026-03-01T09:00:00Z", "last_used_at": "2026-03-02T08:40:00Z",
        "expires_at": "2026-04-01T08:40:00Z", "current": True}]}]})

    items: list[DeviceOut] = Field(description="live sessions, most recently used first (at most 100)")
