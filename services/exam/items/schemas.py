"""Request and response models of the item endpoints."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response
from services.exam.item_fields import ITEM_EXAMPLE, ItemFields, ItemOption

_OUT_EXAMPLE = {"id": "8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "bank_id": "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
                **ITEM_EXAMPLE, "thresholds": [], "option_scores": None, "max_score": 1, "status": "active",
                "revision": 1, "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z"}
NOT_FOUND = problem_response(404, "item.not_found", "No such item in your org")
CODE_EXISTS = problem_response(409, "item.code_exists", "An item with this code exists in the bank")
INVALID = problem_response(422, "item.invalid", "The item's fields are inconsistent",
                           "logistic items need b")
BANK_NOT_FOUND = problem_response(422, "item_bank.not_found", "The bank does not exist in your org")
IN_USE = problem_response(409, "item.in_use", "The item is on a published fixed-form exam")
INVALID_CURSOR = problem_response(400, "request.invalid_cursor", "Bad cursor")


class ItemIn(ItemFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"bank_id": "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6", **ITEM_EXAMPLE}]})

    bank_id: uuid.UUID


class ItemPatch(BaseModel):
    """Any subset of the item's fields; the result must be a valid item as a whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"b": 0.15, "c": 0.18}]})

    code: str | None = None
    stem: str | None = None
    options: list[ItemOption] | None = None
    answer_key: str | None = None
    option_scores: dict[str, int] | None = None
    content_area: str | None = None
    model: Literal["logistic", "grm", "gpcm"] | None = None
    a: float | None = None
    b: float | None = None
    c: float | None = None
    d: float | None = None
    thresholds: list[float] | None = None
    enemy_tags: list[str] | None = None


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_OUT_EXAMPLE]})

    id: uuid.UUID
    bank_id: uuid.UUID
    code: str
    stem: str
    options: list[ItemOption]
    answer_key: str | None
    option_scores: dict[str, int] | None
    content_area: str
    model: str
    a: float
    b: float | None
    c: float
    d: float
    thresholds: list[float]
    max_score: int
    enemy_tags: list[str]
    status: Literal["active", "retired"]
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ItemPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_OUT_EXAMPLE], "next_cursor": None}]})

    items: list[ItemOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
