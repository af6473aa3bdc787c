"""TOTP enrollment and verification, for a login challenge (`mfa_token` from /auth/login) or for
a logged-in user turning TOTP on for themselves (an already verified access token); recovery
codes (10, single use, stored as HMAC-SHA256 with a pepper from AUTH_SECRET_KEY,
`services.auth.one_time_codes`) made in the transaction that turns TOTP on or on request after a
fresh TOTP code, and accepted at a login challenge instead of a TOTP code (for a lost phone; the
account should then make a new set). A wrong recovery code counts against the challenge and
against the account like a wrong password (`st.guard`)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.zones import Zone
from services.auth import accounts, audit_log, profile_cache, totp
from services.auth.client_info import ClientInfo
from services.auth.db_scope import principal_transaction, user_transaction
from services.auth.issuance import IssuedTokens, complete_login
from services.auth.memberships import Grant
from services.auth.mfa import queries
from services.auth.one_time_codes import new_code, recovery_code_hash, recovery_pepper
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
    """Verify without a challenge: the pending enrollment is now on (no tokens issued), with the
    first recovery codes."""

    recovery_codes: list[str]


@dataclass(frozen=True)
class ChallengePassed:
    """Verify with a challenge: the login's tokens; recovery codes when this login turned TOTP on."""

    issued: IssuedTokens
    recovery_codes: list[str] | None = None


@dataclass(frozen=True)
class RecoveryCodes:
    codes: list[str]
    generated_at: dt.datetime


RECOVERY_CODE_COUNT = 10
NOT_ENABLED = (409, "auth.mfa_not_enabled", "TOTP is not on for this account: turn it on first")
CODE_INVALID = (401, "auth.mfa_code_invalid", "the code is wrong, expired or already used")
RECOVERY_CODE_INVALID = (401, "auth.recovery_code_invalid", "the recovery code is wrong or already used")


def _code_hash(st: AuthState, user_id: uuid.UUID, code: str) -> bytes:
    return recovery_code_hash(recovery_pepper(st.settings.secret_key), user_id, code)


def _codes_and_hashes(st: AuthState, user_id: uuid.UUID) -> tuple[list[str], list[bytes]]:
    """10 new codes (activation's format: 50 bits, `XXXXX-XXXXX`, no look-alikes) and their hashes."""
    codes = [new_code() for _ in range(RECOVERY_CODE_COUNT)]
    return codes, [_code_hash(st, user_id, c) for c in codes]


async def _new_recovery_codes(s: AsyncSession, st: AuthState, zone_id: int, user_id: uuid.UUID) -> list[str]:
    """A new set stored in the caller's transaction; the old set dies."""
    codes, hashes = _codes_and_hashes(st, user_id)
    await queries.replace_recovery_codes(s, zone_id, user_id, hashes)
    return codes


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


async def verify(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, *, code: str | None,
                 mfa_token: str | None, principal: Principal | None,
                 recovery_code: str | None = None) -> ChallengePassed | MfaTurnedOn:
    """Check a code (once per time step). With a challenge: complete the login (the first right
    code also turns TOTP on and makes the recovery codes); a wrong code counts against the
    challenge; an unused recovery code may stand in for the TOTP code. Without: turn on a
    pending enrollment (and make the recovery codes)."""
    if recovery_code is not None:
        if not mfa_token:
            raise AppError(422, "auth.recovery_code_needs_challenge", "a recovery code answers a login challenge only")
        return await _verify_recovery_code(res, st, zone, client, recovery_code, mfa_token)
    if code is None:
        raise ValueError("either a TOTP code or a recovery code is needed")  # VerifyIn ensures one
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
        raise AppError(*CODE_INVALID)
    if challenge is None or not mfa_token:
        async with user_transaction(res.db(), zone.id, user_id, grant.role, grant.org_id) as s:
            await accounts.enable_mfa(s, user_id)
            codes = await _new_recovery_codes(s, st, zone.id, user_id)
            await audit_log.record(s, zone_id=zone.id, action="auth.mfa.enabled", user_id=user_id,
                                   org_id=grant.org_id, client=client, details={"recovery_codes": len(codes)})
        await profile_cache.forget(res, zone.id, user_id)
        return MfaTurnedOn(codes)
    if not await totp.consume(res.redis, res.keys, zone.id, mfa_token):
        raise AppError(401, "auth.mfa_challenge_invalid", "the MFA challenge was already used")
    fresh_codes, hashes = (None, ()) if user.mfa_enabled else _codes_and_hashes(st, user_id)
    # This login turning TOTP on stores its first recovery codes in the same transaction.
    issued = await complete_login(res, st, zone_id=zone.id, user_id=user_id, grant=grant, mfa_verified=True,
                                  client=client, enable_mfa=not user.mfa_enabled, recovery_code_hashes=hashes,
                                  locale=user.locale)
    await profile_cache.forget(res, zone.id, user_id)
    return ChallengePassed(issued, fresh_codes)


async def _verify_recovery_code(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, recovery_code: str,
                                mfa_token: str) -> ChallengePassed:
    """A recovery code instead of the TOTP code at a login challenge: spent on success; a wrong
    one counts against the challenge like a wrong TOTP code."""
    challenge = await totp.load_challenge(res.redis, res.keys, zone.id, mfa_token)
    user_id, org = uuid.UUID(challenge.user_id), uuid.UUID(challenge.org_id) if challenge.org_id else None
    grant = Grant(challenge.role, org)
    async with user_transaction(res.db(), zone.id, user_id, grant.role, grant.org_id) as s:
        user = await accounts.by_id(s, zone.id, user_id)
    email = user.email if user is not None else None
    await st.guard.check(zone.id, email=email, address=client.address)  # 429 while the account is blocked
    async with user_transaction(res.db(), zone.id, user_id, grant.role, grant.org_id) as s:
        spent = (user is not None and user.status == "active" and user.mfa_enabled
                 and await queries.use_recovery_code(s, zone.id, user_id, _code_hash(st, user_id, recovery_code)))
        if spent:
            if not await totp.consume(res.redis, res.keys, zone.id, mfa_token):
                raise AppError(401, "auth.mfa_challenge_invalid", "the MFA challenge was already used")  # rolls back
            left = await queries.recovery_code_counts(s, zone.id, user_id)
            await audit_log.record(s, zone_id=zone.id, action="auth.mfa.recovery_code_used", user_id=user_id,
                                   org_id=grant.org_id, client=client, details={"remaining": left.remaining})
    if not spent:
        await totp.count_failure(res.redis, res.keys, zone.id, mfa_token, st.settings.mfa_challenge_ttl_seconds)
        await st.guard.record_failure(zone.id, email=email, address=client.address)
        await audit_log.record_alone(res.db(), zone_id=zone.id, action="auth.mfa.recovery_code_failed",
                                     user_id=user_id, org_id=grant.org_id, client=client)
        raise AppError(*RECOVERY_CODE_INVALID)
    assert user is not None  # `spent` implies it
    issued = await complete_login(res, st, zone_id=zone.id, user_id=user_id, grant=grant, mfa_verified=True,
                                  client=client, locale=user.locale)
    return ChallengePassed(issued)


async def _fresh_second_factor(res: Resources, st: AuthState, principal: Principal, client: ClientInfo,
                               code: str) -> accounts.User:
    """The caller's account after a right TOTP code now (wrong codes count against the
    brute-force guard like wrong passwords). 409 when TOTP is off."""
    async with principal_transaction(res.db(), principal) as s:
        user = await accounts.by_id(s, principal.zone_id, principal.user_id)
    if user is None or user.status != "active":
        raise AppError(401, "auth.token_invalid", "the account no longer exists or is disabled")
    if not user.mfa_enabled or user.mfa_secret_encrypted is None:
        raise AppError(*NOT_ENABLED)
    await st.guard.check(principal.zone_id, email=user.email, address=client.address)
    secret = st.cipher.decrypt(user.mfa_secret_encrypted)
    if not await totp.accept_code(res.redis, res.keys, principal.zone_id, user.id, secret, code):
        await st.guard.record_failure(principal.zone_id, email=user.email, address=client.address)
        await audit_log.record_alone(res.db(), zone_id=principal.zone_id, action="auth.mfa.failed", user_id=user.id,
                                     org_id=principal.org_id, client=client)
        raise AppError(*CODE_INVALID)
    return user


async def regenerate_recovery_codes(res: Resources, st: AuthState, principal: Principal, client: ClientInfo,
                                    code: str) -> RecoveryCodes:
    """A new set of 10 codes (the old set dies), after a fresh TOTP code."""
    user = await _fresh_second_factor(res, st, principal, client, code)
    async with principal_transaction(res.db(), principal) as s:
        codes = await _new_recovery_codes(s, st, principal.zone_id, user.id)
        counts = await queries.recovery_code_counts(s, principal.zone_id, user.id)
        await audit_log.record(s, zone_id=principal.zone_id, action="auth.mfa.recovery_codes_generated",
                               user_id=user.id, org_id=principal.org_id, client=client)
    return RecoveryCodes(codes, counts.generated_at or dt.datetime.now(dt.UTC))


async def recovery_code_status(res: Resources, principal: Principal) -> tuple[bool, queries.RecoveryCodeCounts]:
    """Whether TOTP is on, and how many recovery codes are left (never the codes)."""
    async with principal_transaction(res.db(), principal) as s:
        user = await accounts.by_id(s, principal.zone_id, principal.user_id)
        if user is None:
            raise AppError(401, "auth.token_invalid", "the account no longer exists", {"www_authenticate": "Bearer"})
        return user.mfa_enabled, await queries.recovery_code_counts(s, principal.zone_id, principal.user_id)
