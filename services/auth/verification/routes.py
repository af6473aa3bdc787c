"""Email verification: the caller's state, a new link, confirming a link."""
from __future__ import annotations

from fastapi import APIRouter, status

from megacity.auth.dependencies import CurrentPrincipal
from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.auth.api_errors import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH
from services.auth.client_info import ClientDep
from services.auth.state import AuthStateDep
from services.auth.verification import service
from services.auth.verification.schemas import VerificationOut, VerificationSentOut, VerifyEmailIn

router = APIRouter(prefix="/api/v1/auth/email-verification", tags=["verification"])


def _out(state: service.VerificationState) -> VerificationOut:
    return VerificationOut(email=state.email, verified=state.verified_at is not None, verified_at=state.verified_at)


@router.get("", response_model=VerificationOut, summary="Is my email address verified?",
            description="An unverified account may do everything a verified one may; frontends show a reminder.",
            responses=problems(UNAUTHORIZED, ZONE_MISMATCH, UNKNOWN_HOST))
async def my_verification(principal: CurrentPrincipal, res: ResourcesDep) -> VerificationOut:
    return _out(await service.status(res, principal))


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=VerificationSentOut,
             summary="Send me a new verification link",
             description="Mails `https://www.<domain>/verify-email#token=…` (48 hours, single use) to the account's "
                         "email; older links die. 5 an hour per account.",
             responses=problems(UNAUTHORIZED, service.ALREADY, service.NO_MAILBOX,
                                (429, "rate_limit.exceeded", "Too many links asked for (see Retry-After)"),
                                ZONE_MISMATCH, UNKNOWN_HOST))
async def resend(principal: CurrentPrincipal, zone: ZoneDep, client: ClientDep, res: ResourcesDep,
                 st: AuthStateDep) -> VerificationSentOut:
    return VerificationSentOut(email=await service.resend(res, st, zone, principal, client))


@router.post("/confirm", response_model=VerificationOut, summary="Confirm an email address with a link's token",
             description="No login needed: the token is the proof. A link works once.",
             responses=problems(service.INVALID, *service.TOKEN_ERRORS.values(), UNKNOWN_HOST))
async def confirm(body: VerifyEmailIn, zone: ZoneDep, client: ClientDep, res: ResourcesDep) -> VerificationOut:
    return _out(await service.confirm(res, zone, client, body.token))
