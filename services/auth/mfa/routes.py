"""TOTP: enroll (a secret for an authenticator app) and verify (a 6-digit code).

Two ways in: during a login challenge (`mfa_token` from /auth/login — mandatory for
super_admin, zone_admin and org_admin, who cannot get tokens before their first verify), or as
a logged-in user turning TOTP on for themselves (Authorization header). Once on, every login of
that user is challenged.
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response

from megacity.auth.dependencies import current_principal
from megacity.auth.tokens import Principal
from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.auth.api_errors import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH
from services.auth.client_info import ClientDep
from services.auth.mfa import service
from services.auth.mfa.schemas import EnrollIn, EnrollOut, MfaEnabledOut, VerifyIn
from services.auth.state import AuthStateDep
from services.auth.token_responses import TokenResponse, token_response

router = APIRouter(prefix="/api/v1/auth/mfa/totp", tags=["mfa"])

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


@router.post("/verify", response_model=TokenResponse | MfaEnabledOut, summary="Answer a TOTP code",
             description="With `mfa_token`: completes the login (the first right code also turns TOTP on) and "
                         "returns tokens like /auth/login. With an access token: turns on a pending enrollment. "
                         "A code works once; a challenge allows 5 wrong codes.",
             responses=problems(UNAUTHORIZED, CHALLENGE_INVALID,
                                (401, "auth.mfa_code_invalid", "Wrong, expired or already used code"),
                                (409, "auth.mfa_not_enrolled", "No TOTP secret: enroll first"),
                                (409, "auth.mfa_already_enabled", "TOTP is already on for this account"),
                                ZONE_MISMATCH, UNKNOWN_HOST))
async def verify(request: Request, response: Response, body: VerifyIn, zone: ZoneDep, client: ClientDep,
                 res: ResourcesDep, st: AuthStateDep) -> TokenResponse | MfaEnabledOut:
    principal = await _principal_unless_challenged(request, body.mfa_token)
    outcome = await service.verify(res, st, zone, client, code=body.code, mfa_token=body.mfa_token,
                                   principal=principal)
    if isinstance(outcome, service.MfaTurnedOn):
        return MfaEnabledOut()
    return token_response(response, st.settings, outcome, request)
