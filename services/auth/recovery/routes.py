"""Password reset by email: ask for a link, then set a new password with it."""
from __future__ import annotations

from fastapi import APIRouter, Response, status

from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.auth.api_errors import UNKNOWN_HOST
from services.auth.client_info import ClientDep
from services.auth.recovery import service
from services.auth.recovery.schemas import ResetConfirmIn, ResetRequestedOut, ResetRequestIn
from services.auth.state import AuthStateDep

router = APIRouter(prefix="/api/v1/auth/password-reset", tags=["recovery"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ResetRequestedOut,
             summary="Ask for a password reset link by email",
             description="Always 202 with the same body, whether or not an account uses the email (no account "
                         "enumeration); the mail is queued and sent in the background. The link "
                         "(`https://www.<domain>/reset-password#token=…`) works once, for 30 minutes; a newer "
                         "request kills older links. Limited per email (5 an hour) and per client address "
                         "(100 an hour).",
             responses=problems((429, "rate_limit.exceeded", "Too many reset requests for this email or address "
                                 "(see Retry-After)"), UNKNOWN_HOST))
async def request_reset(body: ResetRequestIn, zone: ZoneDep, client: ClientDep, res: ResourcesDep,
                        st: AuthStateDep) -> ResetRequestedOut:
    await service.request_reset(res, st, zone, client, body.email)
    return ResetRequestedOut(detail=service.accepted_message(st.settings.password_reset_ttl_seconds))


@router.post("/confirm", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             summary="Set a new password with a reset link's token",
             description="Password policy as at registration. On success the link is used up, the email counts "
                         "as verified, and every session of the user is revoked (refused everywhere at once): "
                         "log in with the new password.",
             responses=problems(service.INVALID, *service.TOKEN_ERRORS.values(),
                                (422, "auth.password_weak", "The new password does not meet the policy"),
                                UNKNOWN_HOST))
async def confirm_reset(body: ResetConfirmIn, zone: ZoneDep, client: ClientDep, res: ResourcesDep,
                        st: AuthStateDep) -> Response:
    await service.confirm_reset(res, st, zone, client, token=body.token, new_password=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
