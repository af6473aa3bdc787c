"""Request and response models of joining and of participants."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"nickname": "민지", "avatar": "fox"}, {"avatar": "owl"}]})

    # 1–20 characters after normalisation (NFC, trimmed); omitted or blank: a friendly generated
    # one when the session offers them.
    nickname: str | None = Field(None, max_length=64)
    avatar: str = Field(..., min_length=1, max_length=64)


class JoinInfo(BaseModel):
    """What a join page shows before the student picks a nickname (no names, no ids)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "K7M3QX9P", "title": "Fractions warm-up", "status": "active", "locked": False,
        "friendly_nicknames": True, "approve_arrivals": False, "seconds_left": 1500}]})

    code: str
    title: str
    status: Literal["active"]
    locked: bool
    friendly_nicknames: bool
    approve_arrivals: bool
    seconds_left: int


class JoinOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "participant_id": "8a6f0d5e-1c1b-4d8f-a0a4-3f6b9a2c7e01", "session_id": "5f0c1e55-3a55-4b3e-9d7a-1f0d6a2d9c11",
        "nickname": "민지", "avatar": "fox", "status": "active", "token": "eyJhbGciOiJIUzI1NiIs…",
        "ws_url": "/api/v1/classroom/sessions/K7M3QX9P/ws", "session": {"title": "Fractions warm-up"}}]})

    participant_id: uuid.UUID
    session_id: uuid.UUID
    nickname: str
    avatar: str
    # pending: waits for the teacher's approval (poll GET /participants/me) before the WebSocket opens.
    status: Literal["active", "pending"]
    token: str
    ws_url: str
    session: dict[str, Any]


class MeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "participant_id": "8a6f0d5e-1c1b-4d8f-a0a4-3f6b9a2c7e01", "nickname": "민지", "avatar": "fox",
        "status": "active", "score": 2350, "rank": 3, "mode": "live"}]})

    participant_id: uuid.UUID
    nickname: str
    avatar: str
    status: Literal["active", "pending"]
    score: int
    rank: int | None
    mode: Literal["live", "homework"]


class ParticipantPatch(BaseModel):
    """A teacher's action on one participant."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "active"}, {"status": "kicked"}, {"status": "banned"}, {"muted": True},
        {"extra_time_seconds": 15}]})

    # active approves a pending arrival (or re-admits a kicked one); kicked/banned remove.
    status: Literal["active", "kicked", "banned"] | None = None
    # Silent: the participant's messages reach only itself.
    muted: bool | None = None
    # Added to every card's time for this participant (accessibility).
    extra_time_seconds: int | None = Field(None, ge=0, le=600)


class ParticipantOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "8a6f0d5e-1c1b-4d8f-a0a4-3f6b9a2c7e01", "nickname": "민지", "avatar": "fox", "status": "active",
        "muted": False, "extra_time_seconds": 0, "mode": "live", "joined_at": "2026-12-07T09:01:00Z", "score": 2350}]})

    id: uuid.UUID
    nickname: str
    avatar: str
    status: Literal["active", "pending", "kicked", "banned"]
    muted: bool
    extra_time_seconds: int
    mode: Literal["live", "homework"]
    joined_at: dt.datetime
    score: int = 0


class ParticipantList(BaseModel):
    items: list[ParticipantOut]
