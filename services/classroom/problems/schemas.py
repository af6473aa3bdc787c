"""Request/response models of /api/v1/classroom/problems. Field limits are the table's CHECKs
(migration 0001), so a request the model accepts is a row the database takes."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from megacity.http_app import problem_response
from services.classroom.problems.checking import ALTERNATIVES, MAX_ANSWER_CHARS, choice_index

ProblemType = Literal["vocabulary", "proverb", "math"]
Difficulty = Annotated[int, Field(ge=1, le=5, description="1 (easiest) .. 5")]
Grade = Annotated[int, Field(ge=1, le=12, description="school grade 1..12")]
Prompt = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Choice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Choices = Annotated[list[Choice], Field(min_length=2, max_length=6)]
Explanation = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
TimeLimit = Annotated[int, Field(ge=5, le=300, description="seconds a card stays open; null: the session's default")]

NOT_FOUND = problem_response(404, "classroom.problem_not_found", "No such problem in your org",
                             "problem 9b2f0c1e-0000-4000-8000-000000000000 does not exist in your org")
NOT_YOUR_CLASS = problem_response(404, "classroom.not_your_class", "The class is not one of yours (or not in your org)")
ORG_REQUIRED = (403, "classroom.org_required", "This action needs a token scoped to an org")
INVALID = (422, "request.invalid", "Request failed validation")
INVALID_CURSOR = (400, "request.invalid_cursor", "A cursor this listing did not issue")
IMPORT_INVALID = problem_response(422, "classroom.import_invalid", "The file has bad rows; nothing was imported",
                                  "2 rows are invalid; nothing was imported")
IMPORT_TOO_LARGE = problem_response(413, "classroom.import_too_large", "The file is over 2 MB or 2,000 rows")
INVALID_MULTIPART = (400, "request.invalid_multipart", "The body is not multipart/form-data")

_EXAMPLE: dict[str, Any] = {
    "id": "9b2f0c1e-5d4a-4c3b-8a29-1f0e2d3c4b5a", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
    "class_id": None, "type": "math", "difficulty": 2, "grade": 4, "prompt": "1/2 + 1/4 = ?", "answer": "3/4",
    "choices": ["1/2", "2/6", "3/4", "1"], "explanation": "1/2 = 2/4, and 2/4 + 1/4 = 3/4.", "read_aloud": False,
    "time_limit_seconds": 30, "created_by": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d",
    "created_at": "2026-03-02T08:00:00Z", "updated_at": "2026-03-02T08:00:00Z"}
_MATH_IN: dict[str, Any] = {
    "type": "math", "difficulty": 2, "grade": 4, "prompt": "1/2 + 1/4 = ?", "answer": "3/4",
    "choices": ["1/2", "2/6", "3/4", "1"], "explanation": "1/2 = 2/4, and 2/4 + 1/4 = 3/4.", "time_limit_seconds": 30}
_VOCABULARY_IN: dict[str, Any] = {
    "type": "vocabulary", "difficulty": 1, "grade": 3, "prompt": "'사과' in English?", "answer": "apple|an apple",
    "read_aloud": True, "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}


class ProblemFields(BaseModel):
    """One problem as a whole: what create takes, and what a change must still be after merging.
    With choices, every accepted answer ("|"-separated) must name one of them (text, letter or
    number; services/classroom/problems/checking.py); without, each must be at most 64
    characters, the longest answer a participant may send."""

    model_config = ConfigDict(extra="forbid")

    class_id: uuid.UUID | None = Field(None, description="null: shared with the whole org; else that class only "
                                                         "(a teacher: one of its classes)")
    type: ProblemType
    difficulty: Difficulty
    grade: Grade
    prompt: Prompt
    answer: Answer = Field(description='the right answer; several accepted answers separated by "|"')
    choices: Choices | None = Field(None, description="multiple choice: 2..6 options (null: free answer)")
    explanation: Explanation = ""
    read_aloud: bool = Field(False, description="the pages read the card aloud")
    time_limit_seconds: TimeLimit | None = None

    @model_validator(mode="after")
    def _answer_is_answerable(self) -> ProblemFields:
        accepted = [a.strip() for a in self.answer.split(ALTERNATIVES) if a.strip()]
        if not accepted:
            raise PydanticCustomError("answer_empty", "the answer has no accepted answer")
        for one in accepted:
            if self.choices and choice_index(self.type, self.choices, one) is None:
                raise PydanticCustomError("not_a_choice", "{answer} is not one of the choices",
                                          {"answer": one})
            if not self.choices and len(one) > MAX_ANSWER_CHARS:
                raise PydanticCustomError("answer_too_long", "an accepted answer is over {limit} characters "
                                          "(longer than a participant may send)", {"limit": MAX_ANSWER_CHARS})
        return self


class ProblemIn(ProblemFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_MATH_IN, _VOCABULARY_IN]})


class ProblemPatch(BaseModel):
    """Only the fields sent change (`class_id: null` makes the problem shared); the merged problem
    must be valid as a whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"difficulty": 3},
                                                                             {"class_id": None}]})

    class_id: uuid.UUID | None = None
    type: ProblemType | None = None
    difficulty: Difficulty | None = None
    grade: Grade | None = None
    prompt: Prompt | None = None
    answer: Answer | None = None
    choices: Choices | None = None
    explanation: Explanation | None = None
    read_aloud: bool | None = None
    time_limit_seconds: TimeLimit | None = None


class ProblemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    class_id: uuid.UUID | None
    type: ProblemType
    difficulty: int
    grade: int
    prompt: str
    answer: str
    choices: list[str] | None
    explanation: str
    read_aloud: bool
    time_limit_seconds: int | None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ProblemPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "next_cursor": None}]})

    items: list[ProblemOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class ImportRowError(BaseModel):
    row: int = Field(description="1-based row of the file (the header is row 1)")
    column: str = Field(description="the column at fault, empty for the row as a whole")
    code: str = Field(description="stable: missing_column, unknown_column, duplicate_column, required, "
                                  "too_long, too_short, out_of_range, not_a_number, not_a_choice, unknown_type, "
                                  "not_a_boolean, not_a_uuid, too_few_choices, too_many_choices, unstorable, "
                                  "no_rows, not_your_class, invalid")
    detail: str


class ImportResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"created": 3, "by_type": {"math": 2, "vocabulary": 1, "proverb": 0}, "shared": 2, "class_specific": 1}]})

    created: int = Field(description="problems created (every data row of the file)")
    by_type: dict[str, int]
    shared: int
    class_specific: int
