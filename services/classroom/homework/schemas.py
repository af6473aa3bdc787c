"""Request and response models of homework."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class HomeworkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"days": 7}]})

    # Open for this many days from now.
    days: int = Field(..., ge=1, le=30)


class HomeworkOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "T4K9WQ2M", "until": "2026-12-14T09:30:00Z", "join_url": "https://app.univprepai.com/homework/T4K9WQ2M"}]})

    code: str
    until: dt.datetime
    join_url: str


class HomeworkInfo(BaseModel):
    """What the homework page shows before joining (no names, no ids)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "T4K9WQ2M", "title": "Fractions warm-up", "cards": 5, "until": "2026-12-14T09:30:00Z"}]})

    code: str
    title: str
    cards: int
    until: dt.datetime


class HomeworkJoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"nickname": "민지", "avatar": "fox"}]})

    # The same rules as a live join (1–20 characters, filtered, unique in the session); required:
    # the teacher has to recognise who caught up.
    nickname: str = Field(..., min_length=1, max_length=64)
    avatar: str = Field(..., min_length=1, max_length=64)


class HomeworkJoinOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "participant_id": "8a6f0d5e-1c1b-4d8f-a0a4-3f6b9a2c7e01", "nickname": "민지", "avatar": "fox",
        "token": "eyJhbGciOiJIUzI1NiIs…", "until": "2026-12-14T09:30:00Z", "cards": 5}]})

    participant_id: uuid.UUID
    nickname: str
    avatar: str
    # Bearer token of the homework endpoints (mode `homework`); expires when the homework closes.
    token: str
    until: dt.datetime
    cards: int


class HomeworkProblem(BaseModel):
    """A card's problem as a student sees it: never the answer."""

    type: str
    prompt: str
    choices: list[str] | None
    read_aloud: bool


class HomeworkCard(BaseModel):
    card_no: int
    problem: HomeworkProblem
    answered: bool
    # None until answered.
    correct: bool | None


class HomeworkCards(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "Fractions warm-up", "until": "2026-12-14T09:30:00Z", "items": [
            {"card_no": 1, "problem": {"type": "math", "prompt": "1/2 + 1/4 = ?", "choices": None,
                                       "read_aloud": False}, "answered": False, "correct": None}]}]})

    title: str
    until: dt.datetime
    items: list[HomeworkCard]


class HomeworkAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"answer": "3/4"}]})

    answer: str = Field(..., min_length=1, max_length=200)


class HomeworkAnswerOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "card_no": 1, "correct": True, "points": 1000, "answer": "3/4", "explanation": "1/2 = 2/4"}]})

    card_no: int
    correct: bool
    # Accuracy scoring: 1,000 for a correct answer, whatever the time taken.
    points: int
    # The expected answer and explanation, shown once the card is answered.
    answer: str
    explanation: str
    mode: Literal["homework"] = "homework"
