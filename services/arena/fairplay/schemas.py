"""Request and response models of fair play."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FlagKind = Literal["sandbagging", "boosting", "timing", "related_win", "cheater"]
FlagStatus = Literal["open", "dismissed", "confirmed"]


class FlagOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "8d1e5a0c-3b7f-4f55-9a0e-6c2b1d4e7f01", "user_id": "2b5d8c1a-7f5e-4e0b-8c55-1d9e3f0a4b22",
        "kind": "sandbagging", "level": "flag", "status": "open", "reviewed_by": None,
        "created_at": "2026-12-07T09:30:00Z",
        "details": {"opponent": "5f0c1e55-3a55-4b3e-9d7a-1f0d6a2d9c11", "quick_losses": 4, "window": 7}}]})

    id: uuid.UUID
    user_id: uuid.UUID
    kind: FlagKind
    level: Literal["warn", "flag"]
    status: FlagStatus
    details: dict[str, Any]
    reviewed_by: uuid.UUID | None
    created_at: dt.datetime


class FlagList(BaseModel):
    items: list[FlagOut]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "dismissed"}]})

    status: Literal["dismissed", "confirmed"]


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"note": "confirmed second account boosting its main"}]})

    note: str = Field("", max_length=1000)


class RefundOut(BaseModel):
    user_id: uuid.UUID
    match_id: uuid.UUID
    topic: str
    before: float
    after: float


class MarkOut(BaseModel):
    """`newly_marked` false: the player was marked before, nothing changed."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "user_id": "2b5d8c1a-7f5e-4e0b-8c55-1d9e3f0a4b22", "newly_marked": True,
        "refunds": [{"user_id": "5f0c1e55-3a55-4b3e-9d7a-1f0d6a2d9c11",
                     "match_id": "0a4c3c9e-9d4e-4e8a-9f57-0b8f2b6f1a10", "topic": "", "before": 1480.2,
                     "after": 1496.9}]}]})

    user_id: uuid.UUID
    newly_marked: bool
    refunds: list[RefundOut]
