"""HTTP shapes of matches: practice request, a match with its seats and played rounds, my list."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PracticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"source": "notebook", "topic": ""},
                     {"source": "random", "topic": "8f1c2a5e-4b1d-4c8e-9a51-3f2d7c1b0e94", "bot_rating": 1400}]})

    source: Literal["random", "notebook"] = Field("random", description="notebook: your wrong answers first")
    topic: str = Field("", max_length=64, description="'' for all, or a category id")
    bot_rating: int | None = Field(None, ge=600, le=2800, description="default: your rating")


class SeatOut(BaseModel):
    seat: int
    kind: Literal["human", "bot", "ghost"]
    user_id: uuid.UUID | None
    nickname: str | None
    rating_before: float | None
    score: int
    correct: int
    outcome: Literal["win", "loss", "draw"] | None
    forfeited: bool


class AnswerOut(BaseModel):
    seat: int
    answer: str
    verdict: str
    points: int
    elapsed_ms: int
    feedback: str


class RoundOut(BaseModel):
    round: int
    question_id: uuid.UUID
    content: str | None
    type: str | None
    choices: list[str] | None
    expected: str | None = Field(None, description="shown once the round closed")
    started_at: dt.datetime | None
    deadline: dt.datetime | None
    closed_at: dt.datetime | None
    answers: list[AnswerOut] = Field(default_factory=list, description="shown once the round closed")


class MatchOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0b6f3c9e-6d0e-4f51-8b7a-2a1d7e9c4f10", "mode": "ranked", "topic": "", "opponent_kind": "human",
        "status": "finished", "round_count": 7, "round_seconds": 20, "current_round": 7, "rated": True,
        "unrated_reason": None, "winner_user_id": "5f0a3c1e-1b2d-4e3f-9a8b-7c6d5e4f3a2b", "end_reason": "completed",
        "created_at": "2026-12-07T10:00:00Z", "finished_at": "2026-12-07T10:03:10Z", "seats": [], "rounds": []}]})

    id: uuid.UUID
    mode: Literal["ranked", "casual", "practice"]
    topic: str
    opponent_kind: Literal["human", "bot", "ghost"]
    status: Literal["active", "finished", "aborted"]
    round_count: int
    round_seconds: int
    current_round: int
    rated: bool
    unrated_reason: str | None
    winner_user_id: uuid.UUID | None
    end_reason: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    ws_url: str = "/api/v1/arena/ws"
    seats: list[SeatOut] = Field(default_factory=list)
    rounds: list[RoundOut] = Field(default_factory=list)


class MatchList(BaseModel):
    items: list[MatchOut]
    next_cursor: str | None
