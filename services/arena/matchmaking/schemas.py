"""Request and response models of the matchmaking queue (the `queue_status` frame carries the same
fields: live/schemas.py QueueStatus)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

QueueMode = Literal["ranked", "casual"]


class QueueIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"mode": "ranked"}, {"mode": "casual", "topic": "3f6d2b9e-8a41-4c1e-9b0a-5d2c7e1f4a60"}]})

    # ranked: rated (Glicko-2), at most `same_opponent_rated_per_day` games a day against one opponent.
    mode: QueueMode
    # A category id: both players get that category's questions and its topic rating pairs them.
    topic: uuid.UUID | None = None


class QueueOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "queued", "mode": "ranked", "topic": "", "since": "2026-12-07T10:00:00Z", "waited_seconds": 6.4,
         "rating": 1512.0, "window": 375.0, "waiting": 14, "ghost_in_seconds": 38.6, "match_id": None, "reason": None},
        {"status": "matched", "mode": None, "topic": None, "since": None, "waited_seconds": None, "rating": None,
         "window": None, "waiting": None, "ghost_in_seconds": None,
         "match_id": "8c1d4e2a-5b6f-4a70-9e3d-2f1a0b9c8d7e", "reason": None},
        {"status": "idle", "mode": None, "topic": None, "since": None, "waited_seconds": None, "rating": None,
         "window": None, "waiting": None, "ghost_in_seconds": None, "match_id": None, "reason": "left"}]})

    status: Literal["idle", "queued", "matched"] = Field(
        ..., description="queued: waiting in a pool; matched: in an active match (`match_id`); idle: neither")
    mode: QueueMode | None = None
    topic: str | None = Field(None, description="the pool's topic (category id); '' for all topics")
    since: dt.datetime | None = Field(None, description="when the player joined the queue")
    waited_seconds: float | None = None
    rating: float | None = Field(None, description="the rating the player is paired by (topic rating, else overall)")
    window: float | None = Field(None, description="the largest rating gap accepted now; widens every pairing round")
    waiting: int | None = Field(None, description="players waiting in the same pool")
    ghost_in_seconds: float | None = Field(None, description="seconds until a ghost match is offered")
    match_id: uuid.UUID | None = None
    reason: Literal["left", "timeout", "no_questions"] | None = Field(
        None, description="why the player is no longer queued (no_questions: the topic has too few questions to play)")
