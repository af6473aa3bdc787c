"""Request/response models of register, login, refresh, logout and password change (the token
answers shared with the mfa feature are `services.auth.token_responses`)."""
from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.auth.passwords import MAX_LENGTH


class RegisterIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "email": "minji@example.com", "password": "Correct-Horse-9", "display_name": "Minji Kim",
        "phone": "+82 10-1234-5678"}]})

    email: str = Field(max_length=254)
    password: str = Field(max_length=MAX_LENGTH)
    display_name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32, description="stored encrypted")


class UserOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7c0e2b1a-3d4f-4a5b-8c6d-9e0f1a2b3c4d", "zone": "univ", "email": "minji@example.com",
        "display_name": "Minji Kim"}]})

    id: uuid.UUID
    zone: str
    email: str
    display_name: str


class LoginIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"email": "minji@example.com", "password": "Correct-Horse-9"},
        {"email": "teacher@example.com", "password": "Correct-Horse-9", "org_id": "5d1c3f0e-8a7b-4e6f-9d2c-1b0a9f8e7d6c"}]})

    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    org_id: uuid.UUID | None = Field(default=None, description="which org to act in, when the user has several")


class RefreshIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": "rt_9J0mX0bK3Y2qk7Vd1m5Cq0sN8hTz"}]})

    refresh_token: str | None = Field(default=None, max_length=200,
                                      description="for non-browser clients; browsers send the cookie")


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"current_password": "Correct-Horse-9", "new_password": "Battery-Staple-42"}]})

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=MAX_LENGTH)
