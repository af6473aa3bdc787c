"""Request and response models of chat messages."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"body": "Two minutes left!"}]})

    body: str = Field(..., min_length=1, max_length=400)


class MessageAck(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "6a1d…", "status": "visible"}]})

    id: uuid.UUID
    status: Literal["visible", "held"]


class MessageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7e3c2a10-4b5d-4f6e-8a9b-0c1d2e3f4a5b", "participant_id": "8a6f0d5e-1c1b-4d8f-a0a4-3f6b9a2c7e01",
        "author": "민지", "body": "3/4 맞나요?", "status": "visible", "moderated": False, "reason": None,
        "created_at": "2026-12-07T09:06:10Z"}]})

    id: uuid.UUID
    participant_id: uuid.UUID | None
    author: str
    body: str
    status: Literal["visible", "hidden", "held"]
    moderated: bool
    reason: str | None
    created_at: dt.datetime


class MessageList(BaseModel):
    items: list[MessageOut]
