"""Request/response models of email verification."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class VerificationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"email": "minji@example.com", "verified": True, "verified_at": "2026-03-01T09:05:00Z"},
        {"email": "minji@example.com", "verified": False, "verified_at": None}]})

    email: str
    verified: bool
    verified_at: dt.datetime | None


class VerificationSentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "sent", "email": "minji@example.com"}]})

    status: Literal["sent"] = "sent"
    email: str = Field(description="where the link goes (the account's email)")


class VerifyEmailIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"token": "emv_Qm9vS2VlcGVyLUJsdWUtNDItUmFpbi1TdGFyLVplbg"}]})

    token: str = Field(min_length=1, max_length=200, description="the `token` of the emailed link")
