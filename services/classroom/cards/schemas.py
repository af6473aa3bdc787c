"""Request and response models of cards and tallies."""
from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Rotation(BaseModel):
    """Pick the next card among the org's shared problems and the class's own, not yet shown."""

    model_config = ConfigDict(extra="forbid")

    grade: int | None = Field(None, ge=1, le=12)
    difficulty: int | None = Field(None, ge=1, le=5)
    type: Literal["vocabulary", "proverb", "math"] | None = None


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"problem_id": "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "seconds": 20},
        {"rotate": {"grade": 5, "difficulty": 2, "type": "math"}}]})

    problem_id: uuid.UUID | None = None
    rotate: Rotation | None = None
    # The card's time; default: the problem's own, else the session's card_seconds.
    seconds: int | None = Field(None, ge=5, le=300)

    @model_validator(mode="after")
    def _one_way(self) -> CardIn:
        if (self.problem_id is None) == (self.rotate is None):
            raise ValueError("give either problem_id or rotate")
        return self


class CardProblem(BaseModel):
    id: uuid.UUID
    type: str
    prompt: str
    choices: list[str] | None
    read_aloud: bool
    difficulty: int
    grade: int


class CardOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "card_no": 3, "shown_at": "2026-12-07T09:05:00Z", "closes_at": "2026-12-07T09:05:20Z", "seconds": 20,
        "problem": {"id": "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "type": "math", "prompt": "1/2 + 1/4 = ?",
                    "choices": None, "read_aloud": False, "difficulty": 2, "grade": 5}}]})

    card_no: int
    shown_at: str
    closes_at: str
    seconds: int
    problem: CardProblem


class AnswerCount(BaseModel):
    answer: str
    count: int


class TallyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "card_no": 3, "answered": 28, "correct": 19,
        "by_answer": [{"answer": "3/4", "count": 19}, {"answer": "2/6", "count": 7}, {"answer": "1/8", "count": 2}],
        "stored": {"answered": 28, "correct": 19}}]})

    card_no: int
    answered: int
    correct: int
    # Answers given (normalised), most frequent first: the wrong ones are the misconceptions.
    by_answer: list[AnswerCount]
    stored: dict[str, int] | None = None


class ClosedOut(TallyOut):
    answer: str
    explanation: str


