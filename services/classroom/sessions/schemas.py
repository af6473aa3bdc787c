"""Request and response models of live sessions."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Scoring = Literal["speed", "accuracy"]
ChatMode = Literal["open", "hold", "off"]


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"class_id": "0a4c3c9e-9d4e-4e8a-9f57-0b8f2b6f1a10", "title": "Fractions warm-up", "scoring": "speed"}]})

    class_id: uuid.UUID
    title: str = Field("", max_length=120)
    # speed: correct answers earn more the sooner they come (server-timed); accuracy: 1,000 per correct answer.
    scoring: Scoring = "speed"
    # open: messages go out after moderation; hold: a teacher approves each; off: no chat.
    chat_mode: ChatMode = "open"
    approve_arrivals: bool = False
    friendly_nicknames: bool = False
    slow_mode_seconds: int = Field(0, ge=0, le=300)
    card_seconds: int = Field(30, ge=5, le=300)


class SessionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"locked": True},
                                                                              {"chat_mode": "hold"}]})

    title: str | None = Field(None, max_length=120)
    locked: bool | None = None
    approve_arrivals: bool | None = None
    friendly_nicknames: bool | None = None
    scoring: Scoring | None = None
    chat_mode: ChatMode | None = None
    slow_mode_seconds: int | None = Field(None, ge=0, le=300)
    card_seconds: int | None = Field(None, ge=5, le=300)


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"minutes": 15}]})

    minutes: int = Field(..., ge=1, le=60)


class SessionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5f0c1e55-3a55-4b3e-9d7a-1f0d6a2d9c11", "class_id": "0a4c3c9e-9d4e-4e8a-9f57-0b8f2b6f1a10",
        "teacher_id": "2b5d8c1a-7f5e-4e0b-8c55-1d9e3f0a4b22", "code": "K7M3QX9P", "title": "Fractions warm-up",
        "status": "active", "started_at": "2026-12-07T09:00:00Z", "expires_at": "2026-12-07T09:30:00Z",
        "ended_at": None, "seconds_left": 1800, "locked": False, "approve_arrivals": False,
        "friendly_nicknames": False, "scoring": "speed", "chat_mode": "open", "slow_mode_seconds": 0,
        "card_seconds": 30, "join_url": "https://app.univprepai.com/join/K7M3QX9P",
        "qr_svg_url": "/api/v1/classroom/sessions/5f0c1e55-3a55-4b3e-9d7a-1f0d6a2d9c11/qr.svg",
        "qr_png_url": "/api/v1/classroom/sessions/5f0c1e55-3a55-4b3e-9d7a-1f0d6a2d9c11/qr.png",
        "ws_url": "/api/v1/classroom/sessions/K7M3QX9P/ws", "homework_code": "H4RT9WQE",
        "homework_until": "2026-12-14T09:30:00Z"}]})

    id: uuid.UUID
    class_id: uuid.UUID
    teacher_id: uuid.UUID
    code: str
    title: str
    status: Literal["active", "ended", "expired"]
    started_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None
    seconds_left: int
    locked: bool
    approve_arrivals: bool
    friendly_nicknames: bool
    scoring: Scoring
    chat_mode: ChatMode
    slow_mode_seconds: int
    card_seconds: int
    join_url: str
    qr_svg_url: str
    qr_png_url: str
    ws_url: str
    homework_code: str | None = Field(
        None, description="The open homework's code (students use `https://app.<domain>/homework/<CODE>`); null "
                          "when none is open (never opened, closed, or past its end). Staff only, as all of "
                          "SessionOut: participants never receive it.")
    homework_until: dt.datetime | None = Field(
        None, description="When the open homework closes; null when none is open.")


class SessionList(BaseModel):
    items: list[SessionOut]
