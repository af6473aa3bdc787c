"""Request/response models of /api/v1/arena/questions. Limits are the table's CHECKs (migration
0001), so a question the model accepts is a row the database takes."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from megacity.http_app import problem_response
from services.arena.grading.service import choice_index

QuestionType = Literal["mc", "short", "free"]
Content = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Choice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Choices = Annotated[list[Choice], Field(min_length=2, max_length=8)]
Answer = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Alias = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Aliases = Annotated[list[Alias], Field(max_length=20)]
Rubric = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Explanation = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Difficulty = Annotated[int, Field(ge=1, le=5, description="1 (easiest) .. 5")]
CategoryIds = Annotated[list[uuid.UUID], Field(max_length=20)]
DuplicateCheck = Literal["done", "pending", "skipped"]

DUPLICATE = problem_response(409, "arena.duplicate_question", "A near-duplicate question exists",
                             "question 9b2f0c1e-... duplicates 4d3c2b1a-... (similarity 0.962)")
IMPORT_INVALID = problem_response(422, "arena.import_invalid", "The file has bad or duplicate rows; nothing was "
                                                               "imported", "2 of 40 rows are invalid; nothing was imported")
IMPORT_TOO_LARGE = problem_response(413, "arena.import_too_large", "The file is over 2 MB or 2,000 rows")
INVALID_MULTIPART = (400, "request.invalid_multipart", "The body is not multipart/form-data")

_EXAMPLE: dict[str, Any] = {
    "id": "9b2f0c1e-5d4a-4c3b-8a29-1f0e2d3c4b5a", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110", "shared": False,
    "type": "mc", "content": "Which particle carries no electric charge?", "choices": ["proton", "neutron", "electron"],
    "answer": "neutron", "aliases": [], "rubric": "", "explanation": "Neutrons are electrically neutral.",
    "difficulty": 2, "category_ids": ["3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"], "rating": 1500.0, "rd": 350.0,
    "plays": 0, "embedding_status": "ready", "duplicate_check": "done",
    "created_by": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d",
    "created_at": "2026-12-01T08:00:00Z", "updated_at": "2026-12-01T08:00:00Z"}
_MC_IN: dict[str, Any] = {"type": "mc", "content": "Which particle carries no electric charge?",
                          "choices": ["proton", "neutron", "electron"], "answer": "B", "difficulty": 2}
_SHORT_IN: dict[str, Any] = {"type": "short", "content": "What is 3/4 as a decimal?", "answer": "0.75",
                             "aliases": ["3/4"], "explanation": "3 ÷ 4 = 0.75", "shared": True}
_FREE_IN: dict[str, Any] = {"type": "free", "content": "Explain why ice floats on water.",
                            "answer": "Ice is less dense than liquid water.",
                            "rubric": "mentions density; ice less dense than water; hydrogen-bond lattice"}


class QuestionFields(BaseModel):
    """A question as a whole: what create takes, and what a change must still be after merging.

    - `mc`: 2..8 `choices`; `answer` names the right one (text, letter or 1-based number) and is
      stored as that choice's text; no aliases.
    - `short`: `answer` (and `aliases`) accepted after normalisation and numerically; no choices.
    - `free`: graded by the LLM against `rubric` (required) and the model `answer`; no choices."""

    model_config = ConfigDict(extra="forbid")

    type: QuestionType
    content: Content
    choices: Choices | None = None
    answer: Answer = ""
    aliases: Aliases = Field(default_factory=list)
    rubric: Rubric = ""
    explanation: Explanation = ""
    difficulty: Difficulty = 3
    category_ids: CategoryIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> QuestionFields:
        if self.type == "mc":
            if not self.choices:
                raise PydanticCustomError("choices_required", "a multiple choice question needs choices")
            picked = choice_index(self.choices, self.answer)
            if picked is None:
                raise PydanticCustomError("not_a_choice", "the answer {answer!r} names none of the choices",
                                          {"answer": self.answer})
            self.answer, self.aliases = self.choices[picked], []
        elif self.choices:
            raise PydanticCustomError("choices_forbidden", "only multiple choice questions have choices")
        if self.type == "short" and not self.answer:
            raise PydanticCustomError("answer_required", "a short-answer question needs its answer")
        if self.type == "free" and not self.rubric:
            raise PydanticCustomError("rubric_required", "a free-text question needs a rubric")
        return self


class QuestionIn(QuestionFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_MC_IN, _SHORT_IN, _FREE_IN]})

    shared: bool = Field(False, description="zone-shared (org_id null), read by every org of the zone: zone and "
                                            "super admins only")


class QuestionPatch(BaseModel):
    """Only the fields sent change; the merged question must be valid as a whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"difficulty": 4},
                                                                             {"aliases": ["0.750"]}]})

    type: QuestionType | None = None
    content: Content | None = None
    choices: Choices | None = None
    answer: Answer | None = None
    aliases: Aliases | None = None
    rubric: Rubric | None = None
    explanation: Explanation | None = None
    difficulty: Difficulty | None = None
    category_ids: CategoryIds | None = None


class QuestionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID | None = Field(description="null: zone-shared")
    shared: bool
    type: QuestionType
    content: str
    choices: list[str] | None
    answer: str
    aliases: list[str]
    rubric: str
    explanation: str
    difficulty: int
    category_ids: list[uuid.UUID]
    rating: float = Field(description="the question's own Glicko-2 rating (players are its opponents)")
    rd: float
    plays: int
    embedding_status: Literal["pending", "ready"]
    duplicate_check: DuplicateCheck = Field(
        "done", description="done: checked against the bank; pending: inference was unavailable (the embedding "
                            "is backfilled later, unchecked); skipped: allow_duplicate")
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class QuestionPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "next_cursor": None}]})

    items: list[QuestionOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class ImportRowReport(BaseModel):
    row: int = Field(description="1-based row of the file (the header is row 1)")
    column: str = Field(description="the column at fault, empty for the row as a whole")
    code: str = Field(description="stable: missing_column, unknown_column, duplicate_column, required, too_long, "
                                  "out_of_range, not_a_number, not_a_choice, unknown_type, choices_required, "
                                  "choices_forbidden, answer_required, rubric_required, unknown_category, "
                                  "unstorable, no_rows, duplicate, invalid")
    detail: str
    duplicate_of: uuid.UUID | None = Field(None, description="code duplicate: the existing question")
    duplicate_of_row: int | None = Field(None, description="code duplicate: the earlier row of this file")
    similarity: float | None = None


class ImportResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"created": 2, "by_type": {"mc": 1, "short": 1, "free": 0}, "duplicate_check": "done",
         "ids": ["9b2f0c1e-5d4a-4c3b-8a29-1f0e2d3c4b5a", "4d3c2b1a-0000-4000-8000-000000000001"]}]})

    created: int
    by_type: dict[str, int]
    duplicate_check: DuplicateCheck
    ids: list[uuid.UUID] = Field(description="the new questions, in the file's row order")
    duplicates: list[ImportRowReport] = Field(default_factory=list,
                                              description="rows imported although they are duplicates "
                                                          "(allow_duplicate)")
