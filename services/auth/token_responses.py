"""What a login-like answer holds (credentials and mfa routes): the token body, the MFA
challenge body, and the refresh cookie."""
from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.auth.accounts import Locale
from services.auth.issuance import IssuedTokens
from services.auth.settings import AuthSettings

EXAMPLE_ACCESS = "eyJhbGciOiJFZERTQSIsImtpZCI6IjNmOWMxYjJhN2Q0ZTVmNjAiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl"
EXAMPLE_REFRESH = "rt_9J0mX0bK3Y2qk7Vd1m5Cq0sN8hTzQ4pL6eR2wF7uA1c"


class TokenResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "mfa_required": False, "access_token": EXAMPLE_ACCESS, "token_type": "Bearer", "expires_in": 900,
        "refresh_token": EXAMPLE_REFRESH, "refresh_expires_in": 2592000,
        "session_id": "0b7e5a6c-2f0d-4c55-9a8e-1f3d2c4b5a69", "role": "student",
        "org_id": "5d1c3f0e-8a7b-4e6f-9d2c-1b0a9f8e7d6c", "locale": "ko"}]})

    mfa_required: Literal[False] = False
    access_token: str = Field(description="EdDSA JWT, 15 minutes; send as `Authorization: Bearer …`")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str | None = Field(description="opaque, single use, 30 days; also set as an httpOnly cookie. "
                                      "Presented again within AUTH_REFRESH_REUSE_GRACE_SECONDS (a retry, a second "
                                      "tab) it returns this same pair; later, it revokes the session. null for "
                                      "browser pages (requests with `X-Requested-With`): the cookie carries it, so "
                                      "no page script ever reads it")
    refresh_expires_in: int
    session_id: uuid.UUID
    role: str
    org_id: uuid.UUID | None
    locale: Locale | None = Field(None, description="the account's language for the pages (`PATCH /users/me`); "
                                  "null: never chosen, the browser's language applies")


class MfaChallengeResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "mfa_required": True, "mfa_token": "mfa_q7dJ0c1x5yWm3Z8rT2aVn6Kp4Ls9Hf0Ge1Bd2Cc3Aa4",
        "enrollment_required": False, "methods": ["totp"], "expires_in": 300}]})

    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="pass to /auth/mfa/totp/verify (and /enroll when enrollment_required)")
    enrollment_required: bool = Field(description="no TOTP yet: enroll first, then verify")
    methods: list[str] = ["totp"]
    expires_in: int


def token_response(response: Response, settings: AuthSettings, issued: IssuedTokens, request: Request | None = None
                   ) -> TokenResponse:
    """Tokens, and the refresh cookie. A page (its requests carry `X-Requested-With`) gets the
    refresh token in the HttpOnly cookie only: a script injected into a page could otherwise read
    a 30-day token and keep the account after the page is closed."""
    set_refresh_cookie(response, settings, issued.refresh_token)
    ttl = settings.refresh_ttl_days * 86400
    cookie_only = request is not None and bool(request.headers.get("x-requested-with"))
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in,
                         refresh_token=None if cookie_only else issued.refresh_token, refresh_expires_in=ttl,
                         session_id=issued.session.id,
                         role=issued.session.role, org_id=issued.session.org_id,
                         locale=issued.locale)


def set_refresh_cookie(response: Response, settings: AuthSettings, token: str) -> None:
    response.set_cookie(settings.refresh_cookie_name, token, max_age=settings.refresh_ttl_days * 86400,
                        path=settings.refresh_cookie_path, secure=True, httponly=True, samesite="strict")


def clear_refresh_cookie(response: Response, settings: AuthSettings) -> None:
    response.delete_cookie(settings.refresh_cookie_name, path=settings.refresh_cookie_path, secure=True,
                           httponly=True, samesite="strict")
