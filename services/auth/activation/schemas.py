"""Request/response models of `POST /api/v1/auth/activate`."""
from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.auth.passwords import MAX_LENGTH


class ActivateIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"login_id": "k7m2q9xp@roster.invalid", "code": "HK7ZD-M3QPA", "new_password": "Correct-Horse-9"},
        {"login_id": "minji@example.com", "code": "hk7zd m3qpa", "new_password": "Correct-Horse-9"}]})

    login_id: str = Field(min_length=3, max_length=254,
                          description="the login id on the activation sheet (the email, or the generated id)")
    code: str = Field(min_length=1, max_length=40, description="the one-time code; case, spaces and dashes ignored")
    new_password: str = Field(max_length=MAX_LENGTH)


class ActivatedOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "user_id": "7c0e2b1a-3d4f-4a5b-8c6d-9e0f1a2b3c4d", "login_id": "k7m2q9xp@roster.invalid",
        "login_url": "/api/v1/auth/login"}]})

    user_id: uuid.UUID
    login_id: str
    login_url: str = Field(description="log in here with login_id (as `email`) and the new password")
