"""Finishing a login: a session with its first refresh token, the access token, the audit entry
and the `auth.login` event — one transaction, so none exists without the others."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from megacity.auth.tokens import ACCESS_TOKEN_TTL_SECONDS, SigningKey, issue_access_token
from megacity.events.outbox import add_event
from megacity.runtime import Resources
from services.auth import accounts, audit_log, sessions
from services.auth.client_info import ClientInfo
from services.auth.db_scope import user_transaction
from services.auth.memberships import Grant
from services.auth.mfa import queries as mfa_queries
from services.auth.sessions import SessionInfo
from services.auth.state import AuthState


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    session: SessionInfo
    expires_in: int = ACCESS_TOKEN_TTL_SECONDS
    locale: accounts.Locale | None = None  # the account's language, for the pages (read with the user, never a query of its own)


def access_token_for(key: SigningKey, info: SessionInfo) -> str:
    return issue_access_token(key, user_id=info.user_id, zone_id=info.zone_id, org_id=info.org_id, role=info.role,
                              sid=str(info.id))[0]


async def complete_login(res: Resources, st: AuthState, *, zone_id: int, user_id: uuid.UUID, grant: Grant,
                         mfa_verified: bool, client: ClientInfo, rehash: str | None = None,
                         enable_mfa: bool = False, recovery_code_hashes: Sequence[bytes] = (),
                         locale: accounts.Locale | None = None) -> IssuedTokens:
    """The login's session and tokens. `enable_mfa`: this login's first TOTP code turns TOTP on,
    storing `recovery_code_hashes` (the first recovery codes) in the same transaction. `locale`:
    the account's language from the users row the caller already read, handed back with the tokens."""
    key = await st.keyring.active()
    async with user_transaction(res.db(), zone_id, user_id, grant.role, grant.org_id) as s:
        if rehash:
            await accounts.set_password(s, user_id, rehash, changed=False)
        if enable_mfa:
            await accounts.enable_mfa(s, user_id)
            if recovery_code_hashes:
                await mfa_queries.replace_recovery_codes(s, zone_id, user_id, list(recovery_code_hashes))
            await audit_log.record(s, zone_id=zone_id, action="auth.mfa.enabled", user_id=user_id, org_id=grant.org_id,
                                   client=client, details={"recovery_codes": len(recovery_code_hashes)})
        info, refresh = await sessions.create(s, zone_id=zone_id, user_id=user_id, org_id=grant.org_id,
                                              role=grant.role, mfa_verified=mfa_verified, client=client,
                                              ttl_days=st.settings.refresh_ttl_days)
        await audit_log.record(s, zone_id=zone_id, action="auth.login.succeeded", user_id=user_id, org_id=grant.org_id,
                           client=client, details={"sid": str(info.id), "role": grant.role, "mfa": mfa_verified})
        await add_event(s, "auth", "auth.login", {"user_id": str(user_id), "sid": str(info.id), "role": grant.role,
                                                  "org_id": str(grant.org_id) if grant.org_id else None},
                        zone_id=zone_id, org_id=grant.org_id)
    return IssuedTokens(access_token_for(key, info), refresh, info, locale=locale)
