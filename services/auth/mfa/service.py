"""TOTP enrollment and verification, for a login challenge (`mfa_token` from /auth/login) or for
a logged-in user turning TOTP on for themselves (an already verified access token)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.zones import Zone
from services.auth import accounts, audit_log, profile_cache, totp
from services.auth.client_info import ClientInfo
from services.auth.db_scope import user_transaction
from services.auth.issuance import IssuedTokens, complete_login
from services.auth.memberships import Grant
from services.auth.mfa import queries
from services.auth.state import AuthState


@dataclass(frozen=True)
class Subject:
    """Who is enrolling/verifying, with the role and org their login resolved."""

    user_id: uuid.UUID
    grant: Grant
    challenge: totp.Challenge | None


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str


@dataclass(frozen=True)
class MfaTurnedOn:
    """Verify without a challenge: the pending enrollment is now on (no tokens issued)."""


async def subject_of(res: Resources, zone: Zone, mfa_token: str | None, principal: Principal | None) -> Subject:
    """The challenge's user (401 `auth.mfa_challenge_invalid` when unknown or expired), or the
    access token's when there is no challenge."""
    if mfa_token:
        challenge = await totp.load_challenge(res.redis, res.keys, zone.id, mfa_token)
        org = uuid.UUID(challenge.org_id) if challenge.org_id else None
        return Subject(uuid.UUID(challenge.user_id), Grant(challenge.role, org), challenge)
    if principal is None:
        raise ValueError("either an MFA challenge or an authenticated principal is needed")
    return Subject(principal.user_id, Grant(principal.role, principal.org_id), None)


async def enroll(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, *, mfa_token: str | None,
                 principal: Principal | None) -> Enrollment:
    """A new secret stored encrypted, pending its first verified code. 409
    `auth.mfa_already_enabled` when TOTP is already on."""
    who = await subject_of(res, zone, mfa_token, principal)
    secret = totp.new_secret()
    async with user_transaction(res.db(), zone.id, who.user_id, who.grant.role, who.grant.org_id) as s:
        user = await accounts.by_id(s, zone.id, who.user_id)
        if user is None:
            raise AppError(401, "auth.token_invalid", "the account no longer exists")
        if user.mfa_enabled:
            raise AppError(409, "auth.mfa_already_enabled", "TOTP is already enabled for this account")
        await queries.set_mfa_secret(s, who.user_id, st.cipher.encrypt(secret))
        await audit_log.record(s, zone_id=zone.id, action="auth.mfa.enrolled", user_id=who.user_id,
                               org_id=who.grant.org_id, client=client)
    return Enrollment(secret, totp.provisioning_uri(secret, user.email, st.settings.mfa_issuer))


async def verify(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, *, code: str,
                 mfa_token: str | None, principal: Principal | None) -> IssuedTokens | MfaTurnedOn:
    """Check a code (once per time step). With a challenge: complete the login (the first right
    code also turns TOTP on); a wrong code counts against the challenge. Without: turn on a
    pending enrollment."""
    who = await subject_of(res, zone, mfa_token, principal)
    user_id, grant, challenge = who.user_id, who.grant, who.challenge
    async with user_transaction(res.db(), zone.id, user_id, grant.role, grant.org_id) as s:
        user = await accounts.by_id(s, zone.id, user_id)
    if user is None or user.status != "active":
        raise AppError(401, "auth.token_invalid", "the account no longer exists or is disabled")
    if challenge is None and user.mfa_enabled:
        raise AppError(409, "auth.mfa_already_enabled", "TOTP is already enabled for this account")
    if user.mfa_secret_encrypted is None:
        raise AppError(409, "auth.mfa_not_enrolled", "no TOTP secret yet: call /auth/mfa/totp/enroll first")
    secret = st.cipher.decrypt(user.mfa_secret_encrypted)
    if not await totp.accept_code(res.redis, res.keys, zone.id, user_id, secret, code):
        if challenge is not None and mfa_token:
            await totp.count_failure(res.redis, res.keys, zone.id, mfa_token, st.settings.mfa_challenge_ttl_seconds)
        await audit_log.record_alone(res.db(), zone_id=zone.id, action="auth.mfa.failed", user_id=user_id,
                                     org_id=grant.org_id, client=client)
        raise AppError(401, "auth.mfa_code_invalid", "the code is wrong, expired or already used")
    if challenge is None or not mfa_token:
        async with user_transaction(res.db(), zone.id, user_id, grant.role, grant.org_id) as s:
            await accounts.enable_mfa(s, user_id)
            await audit_log.record(s, zone_id=zone.id, action="auth.mfa.enabled", user_id=user_id,
                                   org_id=grant.org_id, client=client)
        await profile_cache.forget(res, zone.id, user_id)
        return MfaTurnedOn()
    if not await totp.consume(res.redis, res.keys, zone.id, mfa_token):
        raise AppError(401, "auth.mfa_challenge_invalid", "the MFA challenge was already used")
    issued = await complete_login(res, st, zone_id=zone.id, user_id=user_id, grant=grant, mfa_verified=True,
                                  client=client, enable_mfa=not user.mfa_enabled)
    await profile_cache.forget(res, zone.id, user_id)
    return issued
