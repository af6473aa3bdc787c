"""Request/response models of TOTP enrollment and verification."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.auth import totp


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
        {"mfa_token": "mfa_q7dJ0c1x5yWm3Z8rT2aVn6Kp4Ls9Hf0Ge1Bd2Cc3Aa4", "code": "492039"}, {"code": "492039"}]})

    code: str = Field(min_length=6, max_length=8, description="the 6 digits the authenticator shows")
    mfa_token: str | None = Field(default=None, max_length=200)


class MfaEnabledOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"mfa_enabled": True}]})

    mfa_enabled: Literal[True] = True
