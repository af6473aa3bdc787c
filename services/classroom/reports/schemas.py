"""Response models of a session's report."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

Mode = Literal["live", "homework"]


class ModeCounts(BaseModel):
    live: int
    homework: int


class SessionSummary(BaseModel):
    id: uuid.UUID
    title: str
    code: str
    class_id: uuid.UUID
    status: Literal["active", "ended", "expired"]
    started_at: dt.datetime
    ended_at: dt.datetime | None
    homework_until: dt.datetime | None
    participants: ModeCounts
    cards: int
    answers: int
    correct: int
    # correct / answers over every card (0..1); None before the first answer.
    accuracy: float | None


class Misconception(BaseModel):
    # The wrong answer as the checker normalises it ("2/6" and "1/3" are one misconception).
    answer: str
    count: int


class ReportProblem(BaseModel):
    id: uuid.UUID
    # type, prompt and answer are None when the problem was deleted from the bank after the session.
    type: str | None
    prompt: str | None
    answer: str | None


class CardReport(BaseModel):
    card_no: int
    problem: ReportProblem
    shown_at: dt.datetime
    closes_at: dt.datetime
    answered: int
    correct: int
    accuracy: float | None
    # The most frequent wrong answers first (top 5).
    misconceptions: list[Misconception]


class CardResult(BaseModel):
    card_no: int
    answered: bool
    # None when not answered.
    correct: bool | None
    points: int
    elapsed_ms: int | None


class ParticipantReport(BaseModel):
    participant_id: uuid.UUID
    nickname: str
    mode: Mode
    status: Literal["active", "pending", "kicked", "banned"]
    score: int
    answered: int
    correct: int
    per_card: list[CardResult]


class ReportOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "session": {"id": "5f0c1e55-3a55-4b3e-9d7a-1f0d6a2d9c11", "title": "Fractions warm-up", "code": "K7M3QX9P",
                    "class_id": "0a4c3c9e-9d4e-4e8a-9f57-0b8f2b6f1a10", "status": "ended",
                    "started_at": "2026-12-07T09:00:00Z", "ended_at": "2026-12-07T09:25:00Z",
                    "homework_until": None, "participants": {"live": 3, "homework": 1}, "cards": 1,
                    "answers": 4, "correct": 3, "accuracy": 0.75},
        "cards": [{"card_no": 1, "problem": {"id": "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "type": "math",
                                             "prompt": "1/2 + 1/4 = ?", "answer": "3/4"},
                   "shown_at": "2026-12-07T09:02:00Z", "closes_at": "2026-12-07T09:02:30Z", "answered": 4,
                   "correct": 3, "accuracy": 0.75, "misconceptions": [{"answer": "1/3", "count": 1}]}],
        "participants": [{"participant_id": "8a6f0d5e-1c1b-4d8f-a0a4-3f6b9a2c7e01", "nickname": "민지",
                          "mode": "live", "status": "active", "score": 940, "answered": 1, "correct": 1,
                          "per_card": [{"card_no": 1, "answered": True, "correct": True, "points": 940,
                                        "elapsed_ms": 3100}]}]}]})

    session: SessionSummary
    cards: list[CardReport]
    participants: list[ParticipantReport]
