"""Request and response models of taking an exam, and the errors its endpoints document."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response
from services.exam.item_fields import ItemOption

_ATTEMPT = "0193c2a4-5b6c-7d8e-9f01-23456789abcd"
_ITEM: dict[str, Any] = {"id": "8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "stem": "Solve for x: 2x + 3 = 11",
         "options": [{"key": "A", "text": "3"}, {"key": "B", "text": "4"}], "max_score": 1}
_OUT: dict[str, Any] = {"id": _ATTEMPT, "exam_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
        "student_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "kind": "adaptive", "status": "in_progress",
        "started_at": "2026-03-02T09:00:00Z", "deadline_at": "2026-03-02T09:40:00Z", "ended_at": None,
        "remaining_seconds": 1875.0, "answered": 7, "current_item": _ITEM, "pending_item_ids": [_ITEM["id"]],
        "result": None}
NOT_FOUND = problem_response(404, "attempt.not_found", "No such attempt of yours")
EXPIRED = problem_response(409, "attempt.time_expired", "The time limit has passed; the attempt was scored")
START_REFUSED = (
    problem_response(404, "exam.not_found", "No such exam in your org"),
    problem_response(409, "attempt.already_active", "You have an attempt in progress; resume it",
                     "attempt 0193c2a4-5b6c-7d8e-9f01-23456789abcd is in progress"),
    problem_response(409, "exam.not_published", "The exam is not open for attempts"),
    problem_response(409, "attempt.limit_reached", "No attempts left on this exam"),
    (409, "exam.items_unavailable", "Items of the fixed form were retired"),
    (409, "exam.no_items", "The item bank has no item this exam can give"),
    problem_response(422, "exam.cat_settings_rejected", "The CAT engine refused the settings"),
)
RESPONSE_REFUSED = (
    problem_response(409, "attempt.item_not_current", "That item is not waiting for an answer"),
    problem_response(409, "attempt.response_conflict", "A different answer is already stored"),
    problem_response(409, "attempt.not_in_progress", "The attempt is finished"),
    problem_response(422, "response.invalid_answer", "The answer is not one of the options"),
)


class ItemView(BaseModel):
    """An item as the student sees it: no key, no parameters."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": "8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "stem": "Solve for x: 2x + 3 = 11",
        "options": [{"key": "A", "text": "3"}, {"key": "B", "text": "4"}], "max_score": 1}]})

    id: uuid.UUID
    stem: str
    options: list[ItemOption]
    max_score: int = Field(description="1 for right/wrong items; the top category for partial-credit items")


_RESULT: dict[str, Any] = {"theta": 0.42, "se": 0.29, "scaled_score": 542.0, "percentile": 61.5,
                           "percentile_unavailable": None, "norm_group_size": 148, "required_items": 10,
                           "counted": True, "raw_score": 12, "max_score": 18, "estimator": "eap",
                           "stop_reason": "se_reached"}
_INCOMPLETE: dict[str, Any] = {**_RESULT, "theta": -0.35, "se": 0.71, "scaled_score": 465.0, "percentile": None,
                               "percentile_unavailable": "attempt_incomplete", "counted": False, "raw_score": 2,
                               "max_score": 4, "stop_reason": "submitted"}
_DONE: dict[str, Any] = {**_OUT, "status": "completed", "ended_at": "2026-03-02T09:21:13Z",
                         "remaining_seconds": None, "answered": 18, "current_item": None, "pending_item_ids": [],
                         "result": _RESULT}
_EARLY: dict[str, Any] = {**_DONE, "status": "incomplete", "ended_at": "2026-03-02T09:04:40Z", "answered": 4,
                          "result": _INCOMPLETE}
Status = Literal["in_progress", "completed", "expired", "incomplete"]
_STATUS_DOC = ("`incomplete`: an adaptive attempt submitted (or timed out) before the exam's `min_items`; it shows "
               "θ and SE but never counts (latest score, averages, percentiles, dashboards)")


class AttemptResult(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_RESULT, _INCOMPLETE]})

    theta: float
    se: float = Field(description="standard error of θ; large on an incomplete attempt")
    scaled_score: float
    percentile: float | None = Field(
        description="share of the exam's norm group (the org's counted attempts of this exam) below this θ; "
                    "null when `percentile_unavailable` says why")
    percentile_unavailable: Literal["attempt_incomplete", "norm_group_too_small"] | None = Field(
        description="why `percentile` is null: this attempt is incomplete (never ranked), or the norm group is "
                    "smaller than EXAM_MIN_NORM_GROUP (default 30)")
    norm_group_size: int | None = Field(description="counted attempts of this exam in the org")
    required_items: int = Field(description="responses needed for a complete score: an adaptive exam's min_items; "
                                            "0 for a fixed form (unanswered items score 0)")
    counted: bool = Field(description="false for an incomplete attempt: it is left out of the student's latest score, "
                                      "averages, percentiles and dashboards")
    raw_score: int
    max_score: int = Field(description="the most the answered items could score")
    estimator: str | None
    stop_reason: str | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_OUT, _DONE, _EARLY]})

    id: uuid.UUID
    exam_id: uuid.UUID
    student_id: uuid.UUID
    kind: Literal["fixed", "adaptive"]
    status: Status = Field(description=_STATUS_DOC)
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    ended_at: dt.datetime | None
    remaining_seconds: float | None
    answered: int
    current_item: ItemView | None = Field(description="the item to show now (null when finished)")
    pending_item_ids: list[uuid.UUID] = Field(description="adaptive: the item given; fixed: the unanswered items")
    result: AttemptResult | None = Field(description="once finished (completed, expired or incomplete)")


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"item_id": _ITEM["id"], "answer": "B"}]})

    item_id: uuid.UUID
    answer: str = Field(min_length=1, max_length=1000, description="an option key, or the free-response text")


class ResponseAck(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "attempt_id": _ATTEMPT, "item_id": _ITEM["id"], "stored": True, "replayed": False, "answered": 8,
        "status": "in_progress", "finished": False, "next_item": _ITEM, "remaining_seconds": 1790.5, "result": None}]})

    attempt_id: uuid.UUID
    item_id: uuid.UUID
    stored: bool = Field(description="always true: the response is in the database")
    replayed: bool = Field(description="the same answer was already stored (a retried request)")
    answered: int
    status: Status = Field(description=_STATUS_DOC)
    finished: bool
    next_item: ItemView | None
    remaining_seconds: float | None
    result: AttemptResult | None
