"""Request/response models of the users feature."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.auth.accounts import Locale

LOCALE_DESCRIPTION = ("the language the pages are shown in for this account (`ko`, `en`); null: never chosen, "
                      "the browser's language (Accept-Language) applies")


class MeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7c0e2b1a-3d4f-4a5b-8c6d-9e0f1a2b3c4d", "zone": "univ", "zone_id": 1, "email": "minji@example.com",
        "display_name": "Minji Kim", "phone": "+82 10-1234-5678", "role": "student",
        "org_id": "5d1c3f0e-8a7b-4e6f-9d2c-1b0a9f8e7d6c", "platform_role": None,
        "permissions": ["exam:read", "attempt:create", "attempt:read", "profile:read", "profile:update"],
        "mfa_enabled": False, "session_id": "0b7e5a6c-2f0d-4c55-9a8e-1f3d2c4b5a69",
        "created_at": "2026-03-01T09:00:00Z", "email_verified": True, "email_verified_at": "2026-03-01T09:05:00Z",
        "locale": "ko"}]})

    id: uuid.UUID
    zone: str
    zone_id: int
    email: str
    display_name: str
    phone: str | None
    role: str = Field(description="the role of this session (platform role or org membership)")
    org_id: uuid.UUID | None
    platform_role: str | None
    permissions: list[str]
    mfa_enabled: bool
    session_id: str | None
    created_at: dt.datetime
    email_verified: bool = Field(False, description="the address was confirmed through the link mailed to it")
    email_verified_at: dt.datetime | None = None
    locale: Locale | None = Field(None, description=LOCALE_DESCRIPTION)


class MeUpdateIn(BaseModel):
    """What a user may change of their own account here: today the pages' language."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"locale": "en"}, {"locale": "ko"}]})  # no null example: the spec drops None values (it would read `{}`)

    locale: Locale | None = Field(description=LOCALE_DESCRIPTION + " (send null to go back to it)")


class PlatformRoleIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "zone_admin"}]})  # null: see MeUpdateIn

    role: Literal["zone_admin", "super_admin"] | None = Field(description="null removes the platform role")
