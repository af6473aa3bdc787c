"""Request and response models of grade appeals."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AppealStatus = Literal["open", "upheld", "overturned"]
_APPEAL: dict[str, Any] = {
    "id": "8d1e5a0c-3b7f-4f55-9a0e-6c2b1d4e7f01", "match_id": "0a4c3c9e-9d4e-4e8a-9f57-0b8f2b6f1a10",
    "round": 3, "seat": 1, "user_id": "2b5d8c1a-7f5e-4e0b-8c55-1d9e3f0a4b22",
    "reason": "\"Seoul\" is the capital; I typed \"seoul city\"", "status": "open", "decided_by": None,
    "decided_at": None, "created_at": "2026-12-07T09:40:00Z"}


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": _APPEAL["reason"]}]})

    reason: str = Field(..., min_length=1, max_length=1000)


class AppealOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_APPEAL]})

    id: uuid.UUID
    match_id: uuid.UUID
    round: int
    seat: int
    user_id: uuid.UUID
    reason: str
    status: AppealStatus
    decided_by: uuid.UUID | None
    decided_at: dt.datetime | None
    created_at: dt.datetime


class AppealList(BaseModel):
    items: list[AppealOut]


class DecisionIn(BaseModel):
    """`overturned` needs the new grade (`correct`, or `partial` for half marks)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"decision": "overturned", "verdict": "correct", "feedback": "an accepted spelling"},
        {"decision": "upheld", "feedback": "the question asks for the country"}]})

    decision: Literal["upheld", "overturned"]
    verdict: Literal["correct", "partial"] = "correct"
    feedback: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _verdict_only_when_overturned(self) -> DecisionIn:
        if self.decision == "upheld" and "verdict" in self.model_fields_set:
            raise ValueError("an upheld grade keeps its verdict: leave `verdict` out")
        return self


class RefundOut(BaseModel):
    topic: str
    before: float
    after: float


class DecisionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "appeal": {**_APPEAL, "status": "overturned", "decided_by": "5f0c1e55-3a55-4b3e-9d7a-1f0d6a2d9c11",
                   "decided_at": "2026-12-07T10:00:00Z"},
        "verdict": "correct", "refunds": [{"topic": "", "before": 1484.3, "after": 1500.0}]}]})

    appeal: AppealOut
    verdict: Literal["correct", "partial"] | None
    refunds: list[RefundOut]
