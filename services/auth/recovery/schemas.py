"""Request/response models of password reset."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ResetRequestIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "minji@example.com"}]})

    email: str = Field(min_length=1, max_length=254, description="the account's email (login id)")


class ResetRequestedOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": "accepted", "detail": "If an account uses this email, a reset link is on its way. It works "
                                        "once, for 30 minutes."}]})

    status: Literal["accepted"] = "accepted"
    detail: str = Field(description="the same text whether or not the account exists")


class ResetConfirmIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "token": "pwr_Vb3kX0q9Zr7mN2sT5wY8aC1dF4gH6jK9lP0oQ3uE7iR", "new_password": "New-Horse-2026!"}]})

    token: str = Field(min_length=1, max_length=200, description="the `token` of the emailed link")
    new_password: str = Field(min_length=1, max_length=1024)
