"""Password reset: a single-use emailed link, valid AUTH_PASSWORD_RESET_TTL_SECONDS (30 min).

No account enumeration: a request answers the same (202, same body) for a known and an unknown
email, and does the same work up to the transaction (quota, one read, one audit entry); the
mail itself is sent later by the background sender, so SMTP time never shows in the answer.
Requests are limited per email and per client address (megacity.rate_limit, one-hour window);
the 429 depends only on what was asked, never on whether the account exists. A newer request
kills the older links. Confirming sets the password (policy + Argon2id as everywhere), uses the
link, marks the email verified (the mailbox answered), revokes every session of the user
(Redis denylist + `auth.revoked`, reason `password_reset`) and lifts the account's login block
and failure count (the owner just proved the mailbox). A link dies with any other password change
and when the account is disabled. Audit entries name an unknown address only by its hash
(`account_part`): what strangers type is not kept."""
from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.verifier import deny_sessions
from megacity.events.outbox import add_event
from megacity.rate_limit import Quota, SlidingWindowLimiter
from megacity.runtime import Resources
from megacity.zones import Zone
from services.auth import account_tokens, accounts, audit_log, profile_cache, sessions
from services.auth.account_tokens import TokenState
from services.auth.brute_force import account_part, address_part
from services.auth.client_info import ClientInfo
from services.auth.db_scope import scoped_transaction
from services.auth.emails import sender
from services.auth.passwords import check_policy
from services.auth.state import AuthState
from services.auth.verification import queries as verification_queries

PURPOSE: account_tokens.Purpose = "password_reset"
TOKEN_ERRORS = {
    TokenState.USED: (410, "auth.reset_token_used", "this reset link was already used; ask for a new one"),
    TokenState.EXPIRED: (410, "auth.reset_token_expired", "this reset link expired; ask for a new one"),
    TokenState.REPLACED: (410, "auth.reset_token_replaced",
                          "a newer reset link was sent or the password changed since; use the newest link"),
}
INVALID = (400, "auth.reset_token_invalid", "this reset link is not valid")


def accepted_message(ttl_seconds: int) -> str:
    return (f"If an account uses this email, a reset link is on its way. It works once, "
            f"for {ttl_seconds // 60} minutes.")


async def _take_quota(res: Resources, st: AuthState, zone_id: int, email: str, address: str) -> None:
    s = st.settings
    limiter = SlidingWindowLimiter(res.redis, service="auth", window_seconds=3600)
    decision = await limiter.hit([
        Quota("email", res.keys.zone(zone_id, "auth", "rl", "pwreset", "email", account_part(email)),
              s.password_reset_per_email_per_hour),
        Quota("address", res.keys.zone(zone_id, "auth", "rl", "pwreset", "addr", address_part(address)),
              s.password_reset_per_address_per_hour)])
    if decision is not None and not decision.allowed:
        raise decision.error()


async def request_reset(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, email: str) -> None:
    """Queue a reset mail when an active account with a mailbox uses `email`; otherwise only the
    audit entry. The caller answers the same either way."""
    email = email.strip().lower()
    await _take_quota(res, st, zone.id, email, client.address)
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        user = await accounts.by_email(s, zone.id, email)
        if user is None or user.status != "active" or not sender.has_mailbox(user.email):
            reason = "unknown_user" if user is None else ("inactive" if user.status != "active" else "no_mailbox")
            await audit_log.record(s, zone_id=zone.id, action="auth.password_reset.ignored",
                                   user_id=user.id if user else None, client=client,
                                   details={"account": account_part(email), "reason": reason})
            return
        token = await account_tokens.issue(s, zone_id=zone.id, user_id=user.id, purpose=PURPOSE, email=user.email,
                                           ttl_seconds=st.settings.password_reset_ttl_seconds)
        mail_id = await sender.queue(s, st, zone_id=zone.id, user_id=user.id, kind=PURPOSE, to_address=user.email,
                                     to_name=user.display_name, token=token)
        await audit_log.record(s, zone_id=zone.id, action="auth.password_reset.requested", user_id=user.id,
                               client=client, details={"email_id": str(mail_id)})


async def _live_token(s: AsyncSession, zone_id: int, token: str) -> account_tokens.TokenRow:
    return await account_tokens.lock_live(s, zone_id, PURPOSE, token, invalid=INVALID, errors=TOKEN_ERRORS)


async def confirm_reset(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, *, token: str,
                        new_password: str) -> uuid.UUID:
    """Set the new password with a live link; returns the user id. 400 unknown link, 410 used,
    expired or replaced, 422 `auth.password_weak`."""
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        row = await _live_token(s, zone.id, token)
    check_policy(new_password, row.email)
    new_hash = await st.hasher.hash(new_password)  # outside any transaction: Argon2 takes a while
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        row = await _live_token(s, zone.id, token)  # again, locked: two confirmations, one wins
        await accounts.set_password(s, row.user_id, new_hash)
        await account_tokens.use(s, row.id)
        await verification_queries.mark_verified(s, zone.id, row.user_id, row.email)
        sids = await sessions.revoke_all(s, zone.id, row.user_id, "password_reset")
        await audit_log.record(s, zone_id=zone.id, action="auth.password_reset.completed", user_id=row.user_id,
                               client=client, details={"revoked_sids": sids})
        await add_event(s, "auth", "auth.revoked", {"user_id": str(row.user_id), "sids": sids,
                                                    "reason": "password_reset"}, zone_id=zone.id)
        await deny_sessions(res.redis, res.keys, zone.id, sids, res.cache)
    await profile_cache.forget(res, zone.id, row.user_id)
    await st.guard.unblock_account(zone.id, row.email)
    return row.user_id
