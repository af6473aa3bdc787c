"""Email verification. A link (AUTH_EMAIL_VERIFICATION_TTL_SECONDS, 48 h, single use) is mailed
at sign-up — in the registration's transaction (`queue_signup_mail`) — and again on request of
the logged-in user (limited per account an hour); the newest link kills the older ones.

What an unverified account may do (decision): everything it could before. Sign-in does not
depend on it (school rosters vouch for their accounts; activation and password reset prove
possession in their own way), so verification is a fact shown in `/users/me` and here for
frontends to nudge, and for features that need a proven mailbox to check. A password reset
sends its link to the address on file and, once used, marks it verified too."""
from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.rate_limit import Quota, SlidingWindowLimiter
from megacity.runtime import Resources
from megacity.zones import Zone
from services.auth import account_tokens, audit_log, profile_cache
from services.auth.account_tokens import TokenState
from services.auth.client_info import ClientInfo
from services.auth.db_scope import principal_transaction, scoped_transaction
from services.auth.emails import sender
from services.auth.state import AuthState
from services.auth.verification import queries
from services.auth.verification.queries import VerificationState

PURPOSE: account_tokens.Purpose = "email_verification"
INVALID = (400, "auth.verification_token_invalid", "this verification link is not valid")
TOKEN_ERRORS = {
    TokenState.USED: (410, "auth.verification_token_used", "this verification link was already used"),
    TokenState.EXPIRED: (410, "auth.verification_token_expired", "this verification link expired; ask for a new one"),
    TokenState.REPLACED: (410, "auth.verification_token_replaced", "a newer link was sent (or the email changed); "
                                                                   "use the newest one"),
}
ALREADY = (409, "auth.email_already_verified", "this email address is already verified")
NO_MAILBOX = (409, "auth.email_no_mailbox", "this account's login id is not a mailbox (roster login)")


async def queue_signup_mail(s: AsyncSession, st: AuthState, zone: Zone, user_id: uuid.UUID, email: str,
                            display_name: str) -> None:
    """In the caller's (registration's) transaction: a link and its mail, or nothing for a
    login id without a mailbox."""
    if not sender.has_mailbox(email):
        return
    token = await account_tokens.issue(s, zone_id=zone.id, user_id=user_id, purpose=PURPOSE, email=email,
                                       ttl_seconds=st.settings.email_verification_ttl_seconds)
    await sender.queue(s, st, zone_id=zone.id, user_id=user_id, kind=PURPOSE, to_address=email,
                       to_name=display_name, token=token)


async def status(res: Resources, principal: Principal) -> VerificationState:
    async with principal_transaction(res.db(), principal) as s:
        found = await queries.state(s, principal.zone_id, principal.user_id)
    if found is None:
        raise AppError(401, "auth.token_invalid", "the account no longer exists", {"www_authenticate": "Bearer"})
    return found


async def resend(res: Resources, st: AuthState, zone: Zone, principal: Principal, client: ClientInfo) -> str:
    """A new link to the logged-in user's email; returns the address. 409 when already verified."""
    limiter = SlidingWindowLimiter(res.redis, service="auth", window_seconds=3600)
    decision = await limiter.hit([Quota("account", res.keys.zone(zone.id, "auth", "rl", "verify", principal.user_id),
                                        st.settings.verification_resend_per_hour)])
    if decision is not None and not decision.allowed:
        raise decision.error()
    async with principal_transaction(res.db(), principal) as s:
        found = await queries.state(s, principal.zone_id, principal.user_id)
        if found is None:
            raise AppError(401, "auth.token_invalid", "the account no longer exists", {"www_authenticate": "Bearer"})
        if found.verified_at is not None:
            raise AppError(*ALREADY)
        if not sender.has_mailbox(found.email):
            raise AppError(*NO_MAILBOX)
        await queue_signup_mail(s, st, zone, principal.user_id, found.email, found.display_name)
        await audit_log.record(s, zone_id=zone.id, action="auth.email_verification.sent", user_id=principal.user_id,
                               org_id=principal.org_id, client=client)
    return found.email


async def confirm(res: Resources, zone: Zone, client: ClientInfo, token: str) -> VerificationState:
    """Use a live link: the email it was sent to is verified. 400 unknown, 410 used/expired/replaced."""
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        row = await account_tokens.lock_live(s, zone.id, PURPOSE, token, invalid=INVALID, errors=TOKEN_ERRORS)
        await account_tokens.use(s, row.id)
        verified_at = await queries.mark_verified(s, zone.id, row.user_id, row.email)
        await audit_log.record(s, zone_id=zone.id, action="auth.email.verified", user_id=row.user_id, client=client,
                               details={"email": row.email})
    await profile_cache.forget(res, zone.id, row.user_id)
    return VerificationState(row.email, "", verified_at)
