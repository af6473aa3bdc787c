"""Credentials and sessions: register, log in (tokens or an MFA challenge), rotate a refresh
token, log out, change the password. Callable without HTTP: callers pass the zone, the client
(address, user agent) and, where someone is logged in, the verified principal."""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.permissions import MFA_REQUIRED_ROLES
from megacity.auth.tokens import Principal
from megacity.auth.verifier import deny_sessions, deny_token
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.runtime import Resources
from megacity.zones import Zone
from services.auth import accounts, audit_log, sessions, totp
from services.auth.client_info import ClientInfo
from services.auth.credentials import queries
from services.auth.db_scope import principal_transaction, scoped_transaction
from services.auth.issuance import IssuedTokens, access_token_for, complete_login
from services.auth.memberships import choose, list_memberships
from services.auth.passwords import check_policy
from services.auth.sessions import SessionInfo
from services.auth.state import AuthState
from services.auth.verification import service as verification_service


# -- register ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    display_name: str
    phone: str | None = None


async def register(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, r: Registration) -> accounts.User:
    """A new account (a guest until an org adds it). 422 for a bad email, phone or weak password,
    429 past the per-address quota, 409 `auth.email_taken`."""
    email = accounts.normalize_email(r.email)
    phone = accounts.normalize_phone(r.phone)
    check_policy(r.password, email)
    await st.register_quota.take(zone.id, client.address)
    password_hash = await st.hasher.hash(r.password)
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        user = await accounts.create(s, zone_id=zone.id, email=email, password_hash=password_hash,
                                     display_name=r.display_name.strip(),
                                     phone_encrypted=st.cipher.encrypt_optional(phone))
        await audit_log.record(s, zone_id=zone.id, action="auth.register", user_id=user.id, client=client)
        await verification_service.queue_signup_mail(s, st, zone, user.id, user.email, user.display_name)
    return user


# -- login ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MfaChallenge:
    """Login passed the password; a TOTP code must follow (`token` goes to /auth/mfa/totp/*)."""

    token: str
    enrollment_required: bool
    expires_in: int


async def login(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, *, email: str, password: str,
                org_id: uuid.UUID | None) -> IssuedTokens | MfaChallenge:
    """Check the password (an unknown email still runs a full hash verify: same answer, same
    cost), count failures against the brute-force guard, resolve role and org (tenant's
    memberships, asked after the read transaction closed), then issue tokens or an MFA challenge."""
    email = email.strip().lower()
    await st.guard.admit(zone.id, email=email, address=client.address)
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        user = await accounts.by_email(s, zone.id, email)
    valid = await st.hasher.verify(user.password_hash if user else None, password)
    if not valid or user is None or user.status != "active":
        await st.guard.record_failure(zone.id, email=email, address=client.address)
        reason = "unknown_user" if user is None else ("wrong_password" if not valid else "inactive")
        await audit_log.record_alone(res.db(), zone_id=zone.id, action="auth.login.failed",
                                     user_id=user.id if user else None, client=client,
                                     details={"email": email, "reason": reason})
        raise AppError(401, "auth.invalid_credentials", "email or password is incorrect")
    await st.guard.clear_account(zone.id, email)
    memberships = [] if user.platform_role else await list_memberships(res, zone.id, user.id)
    grant = choose(user.platform_role, memberships, org_id)
    if grant.role in MFA_REQUIRED_ROLES or user.mfa_enabled:
        ttl = st.settings.mfa_challenge_ttl_seconds
        token = await totp.open_challenge(res.redis, res.keys, totp.Challenge(
            zone_id=zone.id, user_id=str(user.id), org_id=str(grant.org_id) if grant.org_id else None,
            role=grant.role, enrollment_required=not user.mfa_enabled), ttl)
        await audit_log.record_alone(res.db(), zone_id=zone.id, action="auth.login.mfa_challenged", user_id=user.id,
                                     org_id=grant.org_id, client=client,
                                     details={"role": grant.role, "enrollment_required": not user.mfa_enabled})
        return MfaChallenge(token, not user.mfa_enabled, ttl)
    # Stored with older Argon2 parameters: upgrade now that the password is at hand.
    rehash = await st.hasher.hash(password) if st.hasher.needs_rehash(user.password_hash) else None
    return await complete_login(res, st, zone_id=zone.id, user_id=user.id, grant=grant, mfa_verified=False,
                                client=client, rehash=rehash, locale=user.locale)


# -- refresh -------------------------------------------------------------------------------------
class RefreshOutcome(enum.Enum):
    ROTATED = "rotated"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REUSED = "reused"
    REPLAYED = "replayed"  # reused inside the grace window: the pair that rotation issued, again
    USER_INACTIVE = "user_inactive"


@dataclass(frozen=True)
class RefreshResult:
    outcome: RefreshOutcome
    session: SessionInfo | None = None
    refresh_token: str | None = None
    replayed: sessions.IssuedPair | None = None
    locale: accounts.Locale | None = None  # the user's language, read with the token's row (no query of its own)


async def rotate(session: AsyncSession, zone_id: int, token: str, ttl_days: int,
                 grace: sessions.ReuseGrace | None = None) -> RefreshResult:
    """Use a refresh token once, inside the caller's transaction. The second of two concurrent
    uses waits on the row locks and sees the token rotated: inside the grace window that is a
    retry or a second tab and gets the pair the first use issued; after it, reuse — the sign of a
    stolen copy — revokes the whole session here (the caller must commit, then refuse)."""
    row = await queries.lock_refresh_token(session, zone_id, token)
    if row is None:
        return RefreshResult(RefreshOutcome.UNKNOWN)
    info = row.session
    if row.session_revoked_at is not None:
        return RefreshResult(RefreshOutcome.REVOKED, info)
    if row.rotated_at is not None:
        replayed = await grace.recall(zone_id, token) if grace is not None else None
        if replayed is not None and replayed.session.id == info.id:
            return RefreshResult(RefreshOutcome.REPLAYED, info, replayed.refresh_token, replayed, row.user_locale)
        await sessions.revoke(session, info.id, "refresh_token_reused")
        return RefreshResult(RefreshOutcome.REUSED, info)
    if row.expired or row.session_expired:
        return RefreshResult(RefreshOutcome.EXPIRED, info)
    if row.user_status != "active":
        await sessions.revoke(session, info.id, "user_inactive")
        return RefreshResult(RefreshOutcome.USER_INACTIVE, info)
    await queries.mark_rotated(session, token)
    await queries.extend_session(session, info.id, ttl_days)
    return RefreshResult(RefreshOutcome.ROTATED, info, await sessions.add_token(session, info, ttl_days),
                         locale=row.user_locale)


_REFRESH_ERRORS = {
    RefreshOutcome.UNKNOWN: ("auth.refresh_invalid", "refresh token is not valid"),
    RefreshOutcome.EXPIRED: ("auth.refresh_expired", "refresh token expired; log in again"),
    RefreshOutcome.REVOKED: ("auth.session_revoked", "this session was revoked; log in again"),
    RefreshOutcome.REUSED: ("auth.refresh_reused", "refresh token was already used: the session is revoked"),
    RefreshOutcome.USER_INACTIVE: ("auth.session_revoked", "the account is disabled"),
}


async def refresh(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, token: str | None) -> IssuedTokens:
    """New tokens for a refresh token, which rotates. The same token again inside the reuse grace
    window gets the identical pair; a reuse after it, or a disabled account, revokes the session
    (committed, denied in Redis, announced) before the 401."""
    if not token:
        raise AppError(401, "auth.refresh_missing", "no refresh token (cookie or body)")
    key = await st.keyring.active()
    grace = sessions.ReuseGrace(res.redis, res.keys, st.cipher, st.settings.refresh_reuse_grace_seconds)
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        result = await rotate(s, zone.id, token, st.settings.refresh_ttl_days, grace)
        info = result.session
        issued: IssuedTokens | None = None
        if result.replayed is not None:
            issued = IssuedTokens(result.replayed.access_token, result.replayed.refresh_token, result.replayed.session,
                                  locale=result.locale)
            await audit_log.record(s, zone_id=zone.id, action="auth.refresh.replayed", user_id=issued.session.user_id,
                                   org_id=issued.session.org_id, client=client, details={"sid": str(issued.session.id)})
        elif result.outcome is RefreshOutcome.ROTATED and info is not None and result.refresh_token is not None:
            issued = IssuedTokens(access_token_for(key, info), result.refresh_token, info, locale=result.locale)
            # Before the commit: a concurrent use of the same token, waiting on its row lock, finds it.
            await grace.remember(zone.id, token, sessions.IssuedPair(issued.access_token, issued.refresh_token, info))
        if result.outcome in (RefreshOutcome.REUSED, RefreshOutcome.USER_INACTIVE) and info is not None:
            reason = "refresh_token_reused" if result.outcome is RefreshOutcome.REUSED else "user_inactive"
            await audit_log.record(s, zone_id=zone.id, action="auth.refresh.reused" if reason.startswith("refresh")
                                   else "auth.sessions.revoked", user_id=info.user_id, org_id=info.org_id,
                                   client=client, details={"sid": str(info.id), "reason": reason})
            await add_event(s, "auth", "auth.revoked", {"user_id": str(info.user_id), "sids": [str(info.id)],
                                                        "reason": reason}, zone_id=zone.id, org_id=info.org_id)
            await deny_sessions(res.redis, res.keys, zone.id, [str(info.id)], res.cache)
    if issued is None:
        code, detail = _REFRESH_ERRORS[result.outcome]
        raise AppError(401, code, detail)
    return issued


# -- logout --------------------------------------------------------------------------------------
async def logout(res: Resources, zone: Zone, client: ClientInfo, principal: Principal | None,
                 refresh_token: str | None) -> None:
    """Revoke the session of the access token and/or of the refresh token (the latter only when
    it is the same user's), deny the access token until it expires, announce `auth.logout`."""
    if principal is None and not refresh_token:
        raise AppError(401, "auth.token_missing", "send the access token or the refresh token to log out",
                       {"www_authenticate": "Bearer"})
    sids: set[str] = {principal.sid} if principal and principal.sid else set()
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        user_id = principal.user_id if principal else None
        org_id = principal.org_id if principal else None
        if refresh_token:
            info = await queries.find_by_refresh(s, zone.id, refresh_token)
            if info is not None and (principal is None or info.user_id == principal.user_id):
                sids.add(str(info.id))
                user_id, org_id = info.user_id, info.org_id
        if user_id is None:
            raise AppError(401, "auth.refresh_invalid", "refresh token is not valid")
        for sid in sids:
            await sessions.revoke(s, uuid.UUID(sid), "logout")
        await audit_log.record(s, zone_id=zone.id, action="auth.logout", user_id=user_id, org_id=org_id,
                               client=client, details={"sids": sorted(sids)})
        await add_event(s, "auth", "auth.logout", {"user_id": str(user_id), "sids": sorted(sids),
                                                   "jti": principal.jti if principal else None},
                        zone_id=zone.id, org_id=org_id)
        if principal is not None:
            await deny_token(res.redis, res.keys, principal, res.cache)
        await deny_sessions(res.redis, res.keys, zone.id, sorted(sids), res.cache)


# -- password ------------------------------------------------------------------------------------
async def change_password(res: Resources, st: AuthState, principal: Principal, client: ClientInfo, *,
                          current_password: str, new_password: str) -> None:
    """Needs the current password (failures count against the brute-force guard). Every session
    of the user is then revoked — the caller's included — and denied everywhere at once."""
    zone_id = principal.zone_id
    async with principal_transaction(res.db(), principal) as s:
        user = await accounts.by_id(s, zone_id, principal.user_id)
    if user is None:
        raise AppError(401, "auth.token_invalid", "the account no longer exists")
    await st.guard.check(zone_id, email=user.email, address=client.address)
    if not await st.hasher.verify(user.password_hash, current_password):
        await st.guard.record_failure(zone_id, email=user.email, address=client.address)
        await audit_log.record_alone(res.db(), zone_id=zone_id, action="auth.password.failed", user_id=user.id,
                                     org_id=principal.org_id, client=client)
        raise AppError(403, "auth.password_incorrect", "the current password is not correct")
    check_policy(new_password, user.email)
    if new_password == current_password:
        raise AppError(422, "auth.password_weak", "the new password must differ from the current one",
                       {"violations": ["must differ from the current password"]})
    new_hash = await st.hasher.hash(new_password)
    async with principal_transaction(res.db(), principal) as s:
        await accounts.set_password(s, user.id, new_hash)
        sids = await sessions.revoke_all(s, zone_id, user.id, "password_changed")
        await audit_log.record(s, zone_id=zone_id, action="auth.password.changed", user_id=user.id,
                               org_id=principal.org_id, client=client, details={"revoked_sids": sids})
        await add_event(s, "auth", "auth.revoked", {"user_id": str(user.id), "sids": sids,
                                                    "reason": "password_changed"}, zone_id=zone_id)
        await deny_token(res.redis, res.keys, principal, res.cache)
        await deny_sessions(res.redis, res.keys, zone_id, sids, res.cache)
