"""Request/response models of TOTP enrollment and verification, and of recovery codes."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from services.auth import totp
from services.auth.token_responses import TokenResponse


class EnrollIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"mfa_token": "mfa_q7dJ0c1x5yWm3Z8rT2aVn6Kp4Ls9Hf0Ge1Bd2Cc3Aa4"}, {}]})

    mfa_token: str | None = Field(default=None, max_length=200,
                                  description="the login challenge; omit when calling with an access token")


class EnrollOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        "otpauth_uri": "otpauth://totp/MegaCity:admin%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
                       "&issuer=MegaCity", "digits": 6, "period": 30}]})

    secret: str = Field(description="base32; show once as a QR code of otpauth_uri")
    otpauth_uri: str
    digits: int = 6
    period: int = totp.STEP


class VerifyIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"mfa_token": "mfa_q7dJ0c1x5yWm3Z8rT2aVn6Kp4Ls9Hf0Ge1Bd2Cc3Aa4", "code": "492039"}, {"code": "492039"},
        {"mfa_token": "mfa_q7dJ0c1x5yWm3Z8rT2aVn6Kp4Ls9Hf0Ge1Bd2Cc3Aa4", "recovery_code": "K7M2P-XQ9RT"}]})

    code: str | None = Field(default=None, min_length=6, max_length=8,
                             description="the 6 digits the authenticator shows")
    recovery_code: str | None = Field(default=None, min_length=10, max_length=20,
                                      description="instead of `code`, with `mfa_token` only: one unused recovery code "
                                                  "(case, spaces and dashes do not matter); it is then spent")
    mfa_token: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_code(self) -> VerifyIn:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send either `code` or `recovery_code`")
        return self


RECOVERY_CODES_EXAMPLE: list[JsonValue] = ["K7M2P-XQ9RT", "4HNWA-73CZD", "Q2E8V-MJ5KP", "TB6YU-R3N9G", "W8XFA-2KL7M",
                          "PZ3CD-9HV4E", "N5RJQ-6TW2B", "GY7KX-M8P3A", "D4FHU-5QZ6N", "S9VCE-J2R7L"]


class MfaEnabledOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"mfa_enabled": True,
                                                               "recovery_codes": RECOVERY_CODES_EXAMPLE}]})

    mfa_enabled: Literal[True] = True
    recovery_codes: list[str] = Field(default_factory=list,
                                      description="10 single-use recovery codes, shown only now: keep them safe")


class TokenWithRecoveryCodes(TokenResponse):
    """Tokens of a login challenge; when that login's first code turned TOTP on, also the new
    recovery codes (shown only now)."""

    recovery_codes: list[str] | None = Field(default=None, description="only when this login turned TOTP on")


class RecoveryCodesIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "492039"}]})

    code: str = Field(min_length=6, max_length=8, description="a current TOTP code: proof of a fresh second factor")


class RecoveryCodesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "recovery_codes": RECOVERY_CODES_EXAMPLE, "remaining": 10, "generated_at": "2026-03-01T09:00:00Z"}]})

    recovery_codes: list[str] = Field(description="shown only now; each works once instead of a TOTP code")
    remaining: int
    generated_at: dt.datetime


class RecoveryCodesStatusOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"mfa_enabled": True, "remaining": 7, "total": 10, "generated_at": "2026-03-01T09:00:00Z"}]})

    mfa_enabled: bool
    remaining: int = Field(description="unused recovery codes")
    total: int
    generated_at: dt.datetime | None
