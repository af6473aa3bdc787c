"""TOTP: enroll (a secret for an authenticator app) and verify (a 6-digit code).

Two ways in: during a login challenge (`mfa_token` from /auth/login — mandatory for
super_admin, zone_admin and org_admin, who cannot get tokens before their first verify), or as
a logged-in user turning TOTP on for themselves (Authorization header). Once on, every login of
that user is challenged. Turning it on makes 10 recovery codes (shown once); a recovery code
may answer a login challenge instead of a TOTP code (`/auth/mfa/recovery-codes` for the count
and a new set).
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response

from megacity.auth.dependencies import CurrentPrincipal, current_principal
from megacity.auth.tokens import Principal
from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.auth.api_errors import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH
from services.auth.client_info import ClientDep
from services.auth.mfa import service
from services.auth.mfa.schemas import (
    EnrollIn,
    EnrollOut,
    MfaEnabledOut,
    RecoveryCodesIn,
    RecoveryCodesOut,
    RecoveryCodesStatusOut,
    TokenWithRecoveryCodes,
    VerifyIn,
)
from services.auth.state import AuthStateDep
from services.auth.token_responses import token_response

router = APIRouter(prefix="/api/v1/auth/mfa/totp", tags=["mfa"])

TOO_MANY = (429, "auth.too_many_attempts", "Too many wrong codes: temporarily blocked (see Retry-After)")
CHALLENGE_INVALID = (401, "auth.mfa_challenge_invalid", "Unknown or expired MFA challenge: log in again")


async def _principal_unless_challenged(request: Request, mfa_token: str | None) -> Principal | None:
    """No challenge: the caller must be logged in (verified here, before anything else runs)."""
    return None if mfa_token else await current_principal(request)


@router.post("/enroll", response_model=EnrollOut, summary="Start TOTP enrollment: a new secret",
             description="Stores a new secret (encrypted) pending its first verified code. With `mfa_token` only "
                         "when the login challenge says `enrollment_required`.",
             responses=problems(UNAUTHORIZED, CHALLENGE_INVALID,
                                (409, "auth.mfa_already_enabled", "TOTP is already on for this account"),
                                ZONE_MISMATCH, UNKNOWN_HOST))
async def enroll(request: Request, zone: ZoneDep, client: ClientDep, res: ResourcesDep, st: AuthStateDep,
                 body: EnrollIn | None = None) -> EnrollOut:
    mfa_token = body.mfa_token if body else None
    principal = await _principal_unless_challenged(request, mfa_token)
    enrolled = await service.enroll(res, st, zone, client, mfa_token=mfa_token, principal=principal)
    return EnrollOut(secret=enrolled.secret, otpauth_uri=enrolled.otpauth_uri)


@router.post("/verify", response_model=TokenWithRecoveryCodes | MfaEnabledOut, summary="Answer a TOTP code",
             description="With `mfa_token`: completes the login (the first right code also turns TOTP on and "
                         "returns the 10 recovery codes) and returns tokens like /auth/login; `recovery_code` may "
                         "stand in for `code` (it is then spent). With an access token: turns on a pending "
                         "enrollment and returns the recovery codes. A code works once; a challenge allows 5 wrong "
                         "codes; wrong recovery codes also count against the account (5 block it for a while).",
             responses=problems(UNAUTHORIZED, CHALLENGE_INVALID,
                                (401, "auth.mfa_code_invalid", "Wrong, expired or already used code"),
                                service.RECOVERY_CODE_INVALID,
                                (422, "auth.recovery_code_needs_challenge", "A recovery code answers a login "
                                 "challenge only"),
                                (409, "auth.mfa_not_enrolled", "No TOTP secret: enroll first"),
                                (409, "auth.mfa_already_enabled", "TOTP is already on for this account"),
                                TOO_MANY, ZONE_MISMATCH, UNKNOWN_HOST))
async def verify(request: Request, response: Response, body: VerifyIn, zone: ZoneDep, client: ClientDep,
                 res: ResourcesDep, st: AuthStateDep) -> TokenWithRecoveryCodes | MfaEnabledOut:
    principal = await _principal_unless_challenged(request, body.mfa_token)
    outcome = await service.verify(res, st, zone, client, code=body.code, mfa_token=body.mfa_token,
                                   principal=principal, recovery_code=body.recovery_code)
    if isinstance(outcome, service.MfaTurnedOn):
        return MfaEnabledOut(recovery_codes=outcome.recovery_codes)
    tokens = token_response(response, st.settings, outcome.issued, request)
    return TokenWithRecoveryCodes(**tokens.model_dump(), recovery_codes=outcome.recovery_codes)


recovery_router = APIRouter(prefix="/api/v1/auth/mfa/recovery-codes", tags=["mfa"])


@recovery_router.get("", response_model=RecoveryCodesStatusOut, summary="How many recovery codes I have left",
                     description="Never the codes themselves (only their hashes are stored).",
                     responses=problems(UNAUTHORIZED, ZONE_MISMATCH, UNKNOWN_HOST))
async def recovery_codes_status(principal: CurrentPrincipal, res: ResourcesDep) -> RecoveryCodesStatusOut:
    enabled, counts = await service.recovery_code_status(res, principal)
    return RecoveryCodesStatusOut(mfa_enabled=enabled, remaining=counts.remaining, total=counts.total,
                                  generated_at=counts.generated_at)


@recovery_router.post("", response_model=RecoveryCodesOut, summary="Make a new set of 10 recovery codes",
                      description="Needs a current TOTP code (a fresh second factor); the old codes, used or not, "
                                  "stop working. The codes are shown only in this answer; each works once at a "
                                  "login challenge instead of a TOTP code.",
                      responses=problems(UNAUTHORIZED, service.CODE_INVALID, service.NOT_ENABLED, TOO_MANY,
                                         ZONE_MISMATCH, UNKNOWN_HOST))
async def regenerate_recovery_codes(body: RecoveryCodesIn, principal: CurrentPrincipal, client: ClientDep,
                                    res: ResourcesDep, st: AuthStateDep) -> RecoveryCodesOut:
    made = await service.regenerate_recovery_codes(res, st, principal, client, body.code)
    return RecoveryCodesOut(recovery_codes=made.codes, remaining=len(made.codes), generated_at=made.generated_at)
