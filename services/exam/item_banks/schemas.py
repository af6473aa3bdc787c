"""Request and response models of the item bank endpoints."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response

_EXAMPLE: dict[str, Any] = {"id": "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6", "name": "Algebra I", "description": "Grade 10 algebra",
            "scaling_constant": 1.0, "version": 12, "item_count": 340, "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-02T10:00:00Z"}
NOT_FOUND = problem_response(404, "item_bank.not_found", "No such item bank in your org")
EXISTS = problem_response(409, "item_bank.exists", "A bank with this name exists in your org")


class BankIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Algebra I", "description": "Grade 10 algebra", "scaling_constant": 1.0}]})

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    scaling_constant: float = Field(1.0, gt=0, le=5, allow_inf_nan=False,
                                    description="D in the logistic models: 1.0, or 1.702 for the normal-ogive metric")


class BankPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"description": "Grade 10-11 algebra"}]})

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    scaling_constant: float | None = Field(None, gt=0, le=5, allow_inf_nan=False)


class BankOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    name: str
    description: str
    scaling_constant: float
    version: int = Field(description="bumped by every change to the bank's items")
    item_count: int = Field(description="active items")
    created_at: dt.datetime
    updated_at: dt.datetime


class BankList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[BankOut]
