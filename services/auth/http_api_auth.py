"""Credentials and sessions: register, login, refresh, logout, password change."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Cookie, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from megacity.auth.dependencies import current_principal
from megacity.auth.permissions import MFA_REQUIRED_ROLES
from megacity.auth.tokens import Principal
from megacity.auth.verifier import deny_sessions, deny_token
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.http_app import problems, request_zone
from megacity.runtime import Resources, resources
from megacity.zones import Zone
from services.auth import audit, mfa, sessions, users
from services.auth.client_info import ClientInfo, client_info
from services.auth.db_scope import principal_transaction, scoped_transaction
from services.auth.http_shared import (
    UNAUTHORIZED,
    UNKNOWN_HOST,
    ZONE_MISMATCH,
    MfaChallengeResponse,
    TokenResponse,
    clear_refresh_cookie,
    token_response,
)
from services.auth.issuance import IssuedTokens, access_token_for, complete_login
from services.auth.memberships import choose, list_memberships
from services.auth.passwords import MAX_LENGTH, check_policy
from services.auth.sessions import RefreshOutcome
from services.auth.state import AuthState, auth_state

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

TOO_MANY = (429, "auth.too_many_attempts", "Too many failed attempts: temporarily blocked (see Retry-After)")


class RegisterIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "email": "minji@example.com", "password": "Correct-Horse-9", "display_name": "Minji Kim",
        "phone": "+82 10-1234-5678"}]})

    email: str = Field(max_length=254)
    password: str = Field(max_length=MAX_LENGTH)
    display_name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32, description="stored encrypted")


class UserOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7c0e2b1a-3d4f-4a5b-8c6d-9e0f1a2b3c4d", "zone": "univ", "email": "minji@example.com",
        "display_name": "Minji Kim"}]})

    id: uuid.UUID
    zone: str
    email: str
    display_name: str


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
async def register(body: RegisterIn, zone: Zone = Depends(request_zone), client: ClientInfo = Depends(client_info),
                   res: Resources = Depends(resources), st: AuthState = Depends(auth_state)) -> UserOut:
    email = users.normalize_email(body.email)
    phone = users.normalize_phone(body.phone)
    check_policy(body.password, email)
    await st.register_quota.take(zone.id, client.address)
    password_hash = await st.hasher.hash(body.password)
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        user = await users.create(s, zone_id=zone.id, email=email, password_hash=password_hash,
                                  display_name=body.display_name.strip(), phone_encrypted=st.cipher.encrypt_optional(phone))
        await audit.record(s, zone_id=zone.id, action="auth.register", user_id=user.id, client=client)
    return UserOut(id=user.id, zone=zone.key, email=user.email, display_name=user.display_name)


class LoginIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"email": "minji@example.com", "password": "Correct-Horse-9"},
        {"email": "teacher@example.com", "password": "Correct-Horse-9", "org_id": "5d1c3f0e-8a7b-4e6f-9d2c-1b0a9f8e7d6c"}]})

    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    org_id: uuid.UUID | None = Field(default=None, description="which org to act in, when the user has several")


@router.post("/login", response_model=TokenResponse | MfaChallengeResponse,
             summary="Log in with email and password",
             description="Returns tokens (and sets the refresh cookie), or — for super_admin, zone_admin, org_admin "
                         "and users with TOTP on — an MFA challenge to answer at `/auth/mfa/totp/verify`. An unknown "
                         "email and a wrong password get the same answer in the same time. 5 failures a minute per "
                         "account or client address block it for 15 minutes (429 with Retry-After).",
             responses=problems((401, "auth.invalid_credentials", "Email or password is incorrect"),
                                (403, "auth.not_a_member", "org_id names an org the user does not belong to"),
                                (409, "auth.org_required", "The user belongs to several orgs: send org_id",
                                 ), TOO_MANY,
                                (503, "dependency.tenant_unavailable", "Memberships could not be read"),
                                UNKNOWN_HOST))
async def login(body: LoginIn, response: Response, zone: Zone = Depends(request_zone),
                client: ClientInfo = Depends(client_info), res: Resources = Depends(resources),
                st: AuthState = Depends(auth_state)) -> TokenResponse | MfaChallengeResponse:
    email = body.email.strip().lower()
    await st.guard.check(zone.id, email=email, address=client.address)
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        user = await users.by_email(s, zone.id, email)
    valid = await st.hasher.verify(user.password_hash if user else None, body.password)
    if not valid or user is None or user.status != "active":
        await st.guard.record_failure(zone.id, email=email, address=client.address)
        reason = "unknown_user" if user is None else ("wrong_password" if not valid else "inactive")
        await audit.record_alone(res.db(), zone_id=zone.id, action="auth.login.failed",
                                 user_id=user.id if user else None, client=client,
                                 details={"email": email, "reason": reason})
        raise AppError(401, "auth.invalid_credentials", "email or password is incorrect")
    await st.guard.clear_account(zone.id, email)
    memberships = [] if user.platform_role else await list_memberships(res, zone.id, user.id)
    grant = choose(user.platform_role, memberships, body.org_id)
    if grant.role in MFA_REQUIRED_ROLES or user.mfa_enabled:
        ttl = st.settings.mfa_challenge_ttl_seconds
        token = await mfa.open_challenge(res.redis, res.keys, mfa.Challenge(
            zone_id=zone.id, user_id=str(user.id), org_id=str(grant.org_id) if grant.org_id else None,
            role=grant.role, enrollment_required=not user.mfa_enabled), ttl)
        await audit.record_alone(res.db(), zone_id=zone.id, action="auth.login.mfa_challenged", user_id=user.id,
                                 org_id=grant.org_id, client=client,
                                 details={"role": grant.role, "enrollment_required": not user.mfa_enabled})
        return MfaChallengeResponse(mfa_token=token, enrollment_required=not user.mfa_enabled, expires_in=ttl)
    # Stored with older Argon2 parameters: upgrade now that the password is at hand.
    rehash = await st.hasher.hash(body.password) if st.hasher.needs_rehash(user.password_hash) else None
    issued = await complete_login(res, st, zone_id=zone.id, user_id=user.id, grant=grant, mfa_verified=False,
                                  client=client, rehash=rehash)
    return token_response(response, st.settings, issued)


class RefreshIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": "rt_9J0mX0bK3Y2qk7Vd1m5Cq0sN8hTz"}]})

    refresh_token: str | None = Field(default=None, max_length=200,
                                      description="for non-browser clients; browsers send the cookie")


_REFRESH_ERRORS = {
    RefreshOutcome.UNKNOWN: ("auth.refresh_invalid", "refresh token is not valid"),
    RefreshOutcome.EXPIRED: ("auth.refresh_expired", "refresh token expired; log in again"),
    RefreshOutcome.REVOKED: ("auth.session_revoked", "this session was revoked; log in again"),
    RefreshOutcome.REUSED: ("auth.refresh_reused", "refresh token was already used: the session is revoked"),
    RefreshOutcome.USER_INACTIVE: ("auth.session_revoked", "the account is disabled"),
}


def _refresh_token(body: RefreshIn | None, cookie: str | None) -> str:
    token = (body.refresh_token if body else None) or cookie
    if not token:
        raise AppError(401, "auth.refresh_missing", "no refresh token (cookie or body)")
    return token


@router.post("/refresh", response_model=TokenResponse, summary="New tokens for a refresh token (rotates it)",
             description="Reads the `mc_refresh` cookie or `refresh_token` in the body. Every use returns a new "
                         "refresh token; the old one is dead. Presenting a used one again revokes the whole session "
                         "(its family) — the sign of a stolen token.",
             responses=problems((401, "auth.refresh_invalid", "Unknown refresh token"),
                                (401, "auth.refresh_reused", "Already-used token: the session is now revoked"),
                                (401, "auth.refresh_expired", "Refresh token expired"),
                                (401, "auth.session_revoked", "Session revoked (logout, password or role change)"),
                                (401, "auth.refresh_missing", "No refresh token given"), UNKNOWN_HOST))
async def refresh(request: Request, response: Response, body: RefreshIn | None = None,
                  mc_refresh: str | None = Cookie(default=None, description="the refresh cookie set at login"),
                  zone: Zone = Depends(request_zone), client: ClientInfo = Depends(client_info),
                  res: Resources = Depends(resources), st: AuthState = Depends(auth_state)) -> TokenResponse:
    cookie = request.cookies.get(st.settings.refresh_cookie_name) or mc_refresh
    token = _refresh_token(body, cookie)
    key = await st.keyring.active()
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        result = await sessions.rotate(s, zone.id, token, st.settings.refresh_ttl_days)
        if result.outcome in (RefreshOutcome.REUSED, RefreshOutcome.USER_INACTIVE):
            info = result.session
            reason = "refresh_token_reused" if result.outcome is RefreshOutcome.REUSED else "user_inactive"
            await audit.record(s, zone_id=zone.id, action="auth.refresh.reused" if reason.startswith("refresh")
                               else "auth.sessions.revoked", user_id=info.user_id, org_id=info.org_id,
                               client=client, details={"sid": str(info.id), "reason": reason})
            await add_event(s, "auth", "auth.revoked", {"user_id": str(info.user_id), "sids": [str(info.id)],
                                                        "reason": reason}, zone_id=zone.id, org_id=info.org_id)
            await deny_sessions(res.redis, res.keys, zone.id, [str(info.id)], res.cache)
    if result.outcome is not RefreshOutcome.ROTATED:
        code, detail = _REFRESH_ERRORS[result.outcome]
        raise AppError(401, code, detail)
    issued = IssuedTokens(access_token_for(key, result.session), result.refresh_token, result.session)
    return token_response(response, st.settings, issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             summary="End this session",
             description="Revokes the session of the access token (Authorization header) and/or of the refresh "
                         "token (cookie or body), and denies the access token until it expires. Other services "
                         "learn of it through Redis at once and the `auth.logout` event.",
             responses=problems(UNAUTHORIZED, (401, "auth.token_missing", "Neither access nor refresh token given"),
                                ZONE_MISMATCH, UNKNOWN_HOST))
async def logout(request: Request, body: RefreshIn | None = None, zone: Zone = Depends(request_zone),
                 client: ClientInfo = Depends(client_info), res: Resources = Depends(resources),
                 st: AuthState = Depends(auth_state)) -> Response:
    principal: Principal | None = None
    refresh_token = (body.refresh_token if body else None) or request.cookies.get(st.settings.refresh_cookie_name)
    if request.headers.get("authorization"):
        try:
            principal = await current_principal(request)
        except AppError:
            if not refresh_token:  # an expired access token must not stop a logout by refresh token
                raise
    if principal is None and not refresh_token:
        raise AppError(401, "auth.token_missing", "send the access token or the refresh token to log out",
                       {"www_authenticate": "Bearer"})
    sids: set[str] = {principal.sid} if principal and principal.sid else set()
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        user_id = principal.user_id if principal else None
        org_id = principal.org_id if principal else None
        if refresh_token:
            info = await sessions.find_by_refresh(s, zone.id, refresh_token)
            if info is not None and (principal is None or info.user_id == principal.user_id):
                sids.add(str(info.id))
                user_id, org_id = info.user_id, info.org_id
        if user_id is None:
            raise AppError(401, "auth.refresh_invalid", "refresh token is not valid")
        for sid in sids:
            await sessions.revoke(s, uuid.UUID(sid), "logout")
        await audit.record(s, zone_id=zone.id, action="auth.logout", user_id=user_id, org_id=org_id, client=client,
                           details={"sids": sorted(sids)})
        await add_event(s, "auth", "auth.logout", {"user_id": str(user_id), "sids": sorted(sids),
                                                   "jti": principal.jti if principal else None},
                        zone_id=zone.id, org_id=org_id)
        if principal is not None:
            await deny_token(res.redis, res.keys, principal, res.cache)
        await deny_sessions(res.redis, res.keys, zone.id, sorted(sids), res.cache)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response, st.settings)
    return response


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"current_password": "Correct-Horse-9", "new_password": "Battery-Staple-42"}]})

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=MAX_LENGTH)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             summary="Change the password (logs out every session)",
             description="Needs the current password. On success every session of the user is revoked — this "
                         "one included — and their access tokens are refused everywhere at once; log in again.",
             responses=problems(UNAUTHORIZED, (403, "auth.password_incorrect", "The current password is wrong"),
                                ZONE_MISMATCH, (422, "auth.password_weak", "The new password does not meet the policy"),
                                TOO_MANY, UNKNOWN_HOST))
async def change_password(body: PasswordChangeIn, principal: Principal = Depends(current_principal),
                          client: ClientInfo = Depends(client_info), res: Resources = Depends(resources),
                          st: AuthState = Depends(auth_state)) -> Response:
    zone_id = principal.zone_id
    async with principal_transaction(res.db(), principal) as s:
        user = await users.by_id(s, zone_id, principal.user_id)
    if user is None:
        raise AppError(401, "auth.token_invalid", "the account no longer exists")
    await st.guard.check(zone_id, email=user.email, address=client.address)
    if not await st.hasher.verify(user.password_hash, body.current_password):
        await st.guard.record_failure(zone_id, email=user.email, address=client.address)
        await audit.record_alone(res.db(), zone_id=zone_id, action="auth.password.failed", user_id=user.id,
                                 org_id=principal.org_id, client=client)
        raise AppError(403, "auth.password_incorrect", "the current password is not correct")
    check_policy(body.new_password, user.email)
    if body.new_password == body.current_password:
        raise AppError(422, "auth.password_weak", "the new password must differ from the current one",
                       {"violations": ["must differ from the current password"]})
    new_hash = await st.hasher.hash(body.new_password)
    async with principal_transaction(res.db(), principal) as s:
        await users.set_password(s, user.id, new_hash)
        sids = await sessions.revoke_all(s, zone_id, user.id, "password_changed")
        await audit.record(s, zone_id=zone_id, action="auth.password.changed", user_id=user.id,
                           org_id=principal.org_id, client=client, details={"revoked_sids": sids})
        await add_event(s, "auth", "auth.revoked", {"user_id": str(user.id), "sids": sids,
                                                    "reason": "password_changed"}, zone_id=zone_id)
        await deny_token(res.redis, res.keys, principal, res.cache)
        await deny_sessions(res.redis, res.keys, zone_id, sids, res.cache)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response, st.settings)
    return response

