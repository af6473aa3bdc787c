"""TOTP: enroll (a secret for an authenticator app) and verify (a 6-digit code).

Two ways in: during a login challenge (`mfa_token` from /auth/login — mandatory for
super_admin, zone_admin and org_admin, who cannot get tokens before their first verify), or as
a logged-in user turning TOTP on for themselves (Authorization header). Once on, every login of
that user is challenged.
"""
from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from megacity.auth.dependencies import current_principal
from megacity.errors import AppError
from megacity.http_app import problems, request_zone
from megacity.runtime import Resources, resources
from megacity.zones import Zone
from services.auth import audit, mfa, profile_cache, users
from services.auth.client_info import ClientInfo, client_info
from services.auth.db_scope import user_transaction
from services.auth.http_shared import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH, TokenResponse, token_response
from services.auth.issuance import complete_login
from services.auth.memberships import Grant
from services.auth.state import AuthState, auth_state

router = APIRouter(prefix="/api/v1/auth/mfa/totp", tags=["mfa"])

CHALLENGE_INVALID = (401, "auth.mfa_challenge_invalid", "Unknown or expired MFA challenge: log in again")


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
    period: int = mfa.STEP


class VerifyIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"mfa_token": "mfa_q7dJ0c1x5yWm3Z8rT2aVn6Kp4Ls9Hf0Ge1Bd2Cc3Aa4", "code": "492039"}, {"code": "492039"}]})

    code: str = Field(min_length=6, max_length=8, description="the 6 digits the authenticator shows")
    mfa_token: str | None = Field(default=None, max_length=200)


class MfaEnabledOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"mfa_enabled": True}]})

    mfa_enabled: Literal[True] = True


async def _subject(request: Request, zone: Zone, res: Resources, mfa_token: str | None
                   ) -> tuple[uuid.UUID, Grant, mfa.Challenge | None]:
    """Who is enrolling/verifying: the challenge's user, or the access token's."""
    if mfa_token:
        challenge = await mfa.load_challenge(res.redis, res.keys, zone.id, mfa_token)
        org = uuid.UUID(challenge.org_id) if challenge.org_id else None
        return uuid.UUID(challenge.user_id), Grant(challenge.role, org), challenge
    principal = await current_principal(request)
    return principal.user_id, Grant(principal.role, principal.org_id), None


@router.post("/enroll", response_model=EnrollOut, summary="Start TOTP enrollment: a new secret",
             description="Stores a new secret (encrypted) pending its first verified code. With `mfa_token` only "
                         "when the login challenge says `enrollment_required`.",
             responses=problems(UNAUTHORIZED, CHALLENGE_INVALID,
                                (409, "auth.mfa_already_enabled", "TOTP is already on for this account"),
                                ZONE_MISMATCH, UNKNOWN_HOST))
async def enroll(request: Request, body: EnrollIn | None = None, zone: Zone = Depends(request_zone),
                 client: ClientInfo = Depends(client_info), res: Resources = Depends(resources),
                 st: AuthState = Depends(auth_state)) -> EnrollOut:
    user_id, grant, _ = await _subject(request, zone, res, body.mfa_token if body else None)
    secret = mfa.new_secret()
    async with user_transaction(res.db(), zone.id, user_id, grant.role, grant.org_id) as s:
        user = await users.by_id(s, zone.id, user_id)
        if user is None:
            raise AppError(401, "auth.token_invalid", "the account no longer exists")
        if user.mfa_enabled:
            raise AppError(409, "auth.mfa_already_enabled", "TOTP is already enabled for this account")
        await users.set_mfa_secret(s, user_id, st.cipher.encrypt(secret))
        await audit.record(s, zone_id=zone.id, action="auth.mfa.enrolled", user_id=user_id, org_id=grant.org_id,
                           client=client)
    return EnrollOut(secret=secret, otpauth_uri=mfa.provisioning_uri(secret, user.email, st.settings.mfa_issuer))


@router.post("/verify", response_model=TokenResponse | MfaEnabledOut, summary="Answer a TOTP code",
             description="With `mfa_token`: completes the login (the first right code also turns TOTP on) and "
                         "returns tokens like /auth/login. With an access token: turns on a pending enrollment. "
                         "A code works once; a challenge allows 5 wrong codes.",
             responses=problems(UNAUTHORIZED, CHALLENGE_INVALID,
                                (401, "auth.mfa_code_invalid", "Wrong, expired or already used code"),
                                (409, "auth.mfa_not_enrolled", "No TOTP secret: enroll first"),
                                (409, "auth.mfa_already_enabled", "TOTP is already on for this account"),
                                ZONE_MISMATCH, UNKNOWN_HOST))
async def verify(request: Request, response: Response, body: VerifyIn, zone: Zone = Depends(request_zone),
                 client: ClientInfo = Depends(client_info), res: Resources = Depends(resources),
                 st: AuthState = Depends(auth_state)) -> TokenResponse | MfaEnabledOut:
    user_id, grant, challenge = await _subject(request, zone, res, body.mfa_token)
    async with user_transaction(res.db(), zone.id, user_id, grant.role, grant.org_id) as s:
        user = await users.by_id(s, zone.id, user_id)
    if user is None or user.status != "active":
        raise AppError(401, "auth.token_invalid", "the account no longer exists or is disabled")
    if challenge is None and user.mfa_enabled:
        raise AppError(409, "auth.mfa_already_enabled", "TOTP is already enabled for this account")
    if user.mfa_secret_encrypted is None:
        raise AppError(409, "auth.mfa_not_enrolled", "no TOTP secret yet: call /auth/mfa/totp/enroll first")
    secret = st.cipher.decrypt(user.mfa_secret_encrypted)
    if not await mfa.accept_code(res.redis, res.keys, zone.id, user_id, secret, body.code):
        if challenge is not None and body.mfa_token:
            await mfa.count_failure(res.redis, res.keys, zone.id, body.mfa_token, st.settings.mfa_challenge_ttl_seconds)
        await audit.record_alone(res.db(), zone_id=zone.id, action="auth.mfa.failed", user_id=user_id,
                                 org_id=grant.org_id, client=client)
        raise AppError(401, "auth.mfa_code_invalid", "the code is wrong, expired or already used")
    if challenge is None:
        async with user_transaction(res.db(), zone.id, user_id, grant.role, grant.org_id) as s:
            await users.enable_mfa(s, user_id)
            await audit.record(s, zone_id=zone.id, action="auth.mfa.enabled", user_id=user_id, org_id=grant.org_id,
                               client=client)
        await profile_cache.forget(res, zone.id, user_id)
        return MfaEnabledOut()
    if not await mfa.consume(res.redis, res.keys, zone.id, body.mfa_token):
        raise AppError(*CHALLENGE_INVALID[:2], "the MFA challenge was already used")
    issued = await complete_login(res, st, zone_id=zone.id, user_id=user_id, grant=grant, mfa_verified=True,
                                  client=client, enable_mfa=not user.mfa_enabled)
    await profile_cache.forget(res, zone.id, user_id)
    return token_response(response, st.settings, issued)
