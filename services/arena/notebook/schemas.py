"""Response models of /api/v1/arena/notebook."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_ENTRY: dict[str, Any] = {
    "question_id": "9b2f0c1e-5d4a-4c3b-8a29-1f0e2d3c4b5a", "type": "mc",
    "content": "Which particle carries no electric charge?", "choices": ["proton", "neutron", "electron"],
    "difficulty": 2, "bookmarked": False, "wrong_count": 2, "last_answer": "proton",
    "ai_feedback": "", "answer": "neutron", "explanation": "Neutrons are electrically neutral.",
    "last_match_id": "5e4d3c2b-0000-4000-8000-000000000001",
    "created_at": "2026-12-01T08:00:00Z", "updated_at": "2026-12-02T08:00:00Z"}


class NotebookEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ENTRY]})

    question_id: uuid.UUID
    type: str
    content: str
    choices: list[str] | None
    difficulty: int
    bookmarked: bool
    wrong_count: int = Field(description="wrong answers in matches")
    last_answer: str = Field(description="your last wrong answer")
    ai_feedback: str = Field(description="the grader's feedback on it (free text)")
    answer: str | None = Field(description="the right answer; null until you have played the question")
    explanation: str | None
    last_match_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class NotebookPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ENTRY], "next_cursor": None}]})

    items: list[NotebookEntry]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
