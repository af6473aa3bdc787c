"""Credentials and sessions: register, login, refresh, logout, password change."""
from __future__ import annotations

from fastapi import APIRouter, Cookie, Request, Response, status

from megacity.auth.dependencies import CurrentPrincipal, current_principal
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.auth.api_errors import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH
from services.auth.client_info import ClientDep
from services.auth.credentials import service
from services.auth.credentials.schemas import LoginIn, PasswordChangeIn, RefreshIn, RegisterIn, UserOut
from services.auth.state import AuthStateDep
from services.auth.token_responses import MfaChallengeResponse, TokenResponse, clear_refresh_cookie, token_response

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

TOO_MANY = (429, "auth.too_many_attempts", "Too many failed attempts: temporarily blocked (see Retry-After)")
ADDRESS_CEILING = (429, "rate_limit.exceeded", "Too many login attempts from this address (see Retry-After)")


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut,
             summary="Create an account in this host's zone",
             description="The account starts with no org role (a guest) until an org adds it as a member. "
                         "Password policy: 8+ characters with lower and upper case, a digit and a symbol, "
                         "not the email. Limited per client address.",
             responses=problems((409, "auth.email_taken", "An account with this email exists in this zone"),
                                (422, "auth.password_weak", "The password does not meet the policy"),
                                (422, "auth.email_invalid", "Not a valid email address"),
                                (422, "auth.phone_invalid", "Not a valid phone number"),
                                (429, "auth.too_many_requests", "Too many registrations from this address"),
                                UNKNOWN_HOST))
async def register(body: RegisterIn, zone: ZoneDep, client: ClientDep, res: ResourcesDep,
                   st: AuthStateDep) -> UserOut:
    user = await service.register(res, st, zone, client, service.Registration(
        email=body.email, password=body.password, display_name=body.display_name, phone=body.phone))
    return UserOut(id=user.id, zone=zone.key, email=user.email, display_name=user.display_name)


@router.post("/login", response_model=TokenResponse | MfaChallengeResponse,
             summary="Log in with email and password",
             description="Returns tokens (and sets the refresh cookie), or — for super_admin, zone_admin, org_admin "
                         "and users with TOTP on — an MFA challenge to answer at `/auth/mfa/totp/verify`. An unknown "
                         "email and a wrong password get the same answer in the same time. 5 failures a minute per "
                         "account, or 50 per client address (a school behind one NAT address), block it for 15 "
                         "minutes (429 `auth.too_many_attempts` with Retry-After); beyond 200 attempts a minute "
                         "from one address, 429 `rate_limit.exceeded` (address scope).",
             responses=problems((401, "auth.invalid_credentials", "Email or password is incorrect"),
                                (403, "auth.not_a_member", "org_id names an org the user does not belong to"),
                                (409, "auth.org_required", "The user belongs to several orgs: send org_id",
                                 ), TOO_MANY, ADDRESS_CEILING,
                                (503, "dependency.tenant_unavailable", "Memberships could not be read"),
                                UNKNOWN_HOST))
async def login(request: Request, body: LoginIn, response: Response, zone: ZoneDep, client: ClientDep,
                res: ResourcesDep, st: AuthStateDep) -> TokenResponse | MfaChallengeResponse:
    outcome = await service.login(res, st, zone, client, email=body.email, password=body.password,
                                  org_id=body.org_id)
    if isinstance(outcome, service.MfaChallenge):
        return MfaChallengeResponse(mfa_token=outcome.token, enrollment_required=outcome.enrollment_required,
                                    expires_in=outcome.expires_in)
    return token_response(response, st.settings, outcome, request)


CSRF_HEADER = "X-Requested-With"
CSRF_MISSING = (403, "auth.csrf_header_missing", f"The refresh cookie is only honoured with an `{CSRF_HEADER}` header")


def cookie_token(request: Request, name: str, fallback: str | None = None) -> str | None:
    """The refresh cookie, honoured only with an `X-Requested-With` header: a browser sends that
    header cross-origin only after a CORS preflight, which the edge grants to the zone's own
    pages, so another site cannot make a browser spend the cookie (CSRF). SameSite=Strict is the
    first guard; this one also holds for sibling subdomains."""
    cookie = request.cookies.get(name) or fallback
    if cookie and not request.headers.get(CSRF_HEADER):
        raise AppError(*CSRF_MISSING)
    return cookie


@router.post("/refresh", response_model=TokenResponse, summary="New tokens for a refresh token (rotates it)",
             description="Reads `refresh_token` in the body, or the `mc_refresh` cookie (which needs an "
                         "`X-Requested-With` header: CSRF). Every use returns a new "
                         "refresh token; the old one is dead. Presenting a used one again within "
                         "`AUTH_REFRESH_REUSE_GRACE_SECONDS` (default 10 s: a client retry, a second tab) returns the "
                         "same new pair; after that window it revokes the whole session (its family) — the sign of "
                         "a stolen token.",
             responses=problems((401, "auth.refresh_invalid", "Unknown refresh token"),
                                (401, "auth.refresh_reused", "Already-used token: the session is now revoked"),
                                (401, "auth.refresh_expired", "Refresh token expired"),
                                (401, "auth.session_revoked", "Session revoked (logout, password or role change)"),
                                (401, "auth.refresh_missing", "No refresh token given"), CSRF_MISSING,
                                UNKNOWN_HOST))
async def refresh(request: Request, response: Response, zone: ZoneDep, client: ClientDep, res: ResourcesDep,
                  st: AuthStateDep, body: RefreshIn | None = None,
                  mc_refresh: str | None = Cookie(default=None, description="the refresh cookie set at login"),
                  ) -> TokenResponse:
    token = (body.refresh_token if body else None) or cookie_token(request, st.settings.refresh_cookie_name, mc_refresh)
    issued = await service.refresh(res, st, zone, client, token)
    return token_response(response, st.settings, issued, request)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             summary="End this session",
             description="Revokes the session of the access token (Authorization header) and/or of the refresh "
                         "token (body, or the cookie with an `X-Requested-With` header), and denies the access "
                         "token until it expires. Other services learn of it through Redis at once and the "
                         "`auth.logout` event.",
             responses=problems(UNAUTHORIZED, (401, "auth.token_missing", "Neither access nor refresh token given"),
                                ZONE_MISMATCH, UNKNOWN_HOST))
async def logout(request: Request, zone: ZoneDep, client: ClientDep, res: ResourcesDep, st: AuthStateDep,
                 body: RefreshIn | None = None) -> Response:
    principal: Principal | None = None
    # An unguarded cookie is ignored here rather than refused: a logout by access token still works,
    # and a forged cross-site logout finds nothing to end.
    cookie = request.cookies.get(st.settings.refresh_cookie_name) if request.headers.get(CSRF_HEADER) else None
    refresh_token = (body.refresh_token if body else None) or cookie
    if request.headers.get("authorization"):
        try:
            principal = await current_principal(request)
        except AppError:
            if not refresh_token:  # an expired access token must not stop a logout by refresh token
                raise
    await service.logout(res, zone, client, principal, refresh_token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response, st.settings)
    return response


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             summary="Change the password (logs out every session)",
             description="Needs the current password. On success every session of the user is revoked — this "
                         "one included — and their access tokens are refused everywhere at once; log in again.",
             responses=problems(UNAUTHORIZED, (403, "auth.password_incorrect", "The current password is wrong"),
                                ZONE_MISMATCH, (422, "auth.password_weak", "The new password does not meet the policy"),
                                TOO_MANY, UNKNOWN_HOST))
async def change_password(body: PasswordChangeIn, principal: CurrentPrincipal, client: ClientDep, res: ResourcesDep,
                          st: AuthStateDep) -> Response:
    await service.change_password(res, st, principal, client, current_password=body.current_password,
                                  new_password=body.new_password)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response, st.settings)
    return response
