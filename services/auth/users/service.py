"""The caller's own account (the profile /users/me shows) and platform roles granted by admins."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from megacity.auth.tokens import Principal
from megacity.auth.verifier import deny_sessions
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.pii import PiiCipher
from megacity.runtime import Resources
from services.auth import accounts, audit_log, profile_cache, sessions
from services.auth.client_info import ClientInfo
from services.auth.db_scope import principal_transaction
from services.auth.users import queries


async def my_profile(res: Resources, cipher: PiiCipher, principal: Principal, cached: str | None
                     ) -> Mapping[str, Any]:
    """The profile fields of /users/me (JSON-ready): from the cached value read with the token
    check when there is one (memoised: no parsing or decryption on a repeat), else from the
    row, which is then cached. 401 `auth.token_invalid` when the account is gone."""
    if cached:
        with contextlib.suppress(ValueError):  # cached before a PII key rotation dropped its key
            return profile_cache.shown(cached, cipher)
    async with principal_transaction(res.db(), principal) as s:
        user = await accounts.by_id(s, principal.zone_id, principal.user_id)
    if user is None:
        raise AppError(401, "auth.token_invalid", "the account no longer exists", {"www_authenticate": "Bearer"})
    await profile_cache.store(res, user)
    return profile_cache.shown(profile_cache.dump(user), cipher)


async def set_my_locale(res: Resources, cipher: PiiCipher, principal: Principal, locale: str | None
                        ) -> Mapping[str, Any]:
    """The caller's language for the pages (null: the browser's again), then their profile as
    /users/me shows it, from the row the UPDATE returns. A change stores the new profile in Redis
    after the commit: that write makes Redis invalidate every replica's TrackedCache copy, so
    /users/me shows the new language at once everywhere (this process drops its own copy)."""
    async with principal_transaction(res.db(), principal) as s:
        result = await accounts.set_locale(s, principal.zone_id, principal.user_id, locale)
    if result is None:
        raise AppError(401, "auth.token_invalid", "the account no longer exists", {"www_authenticate": "Bearer"})
    user, changed = result
    if changed:
        await profile_cache.replace(res, user)
    return profile_cache.shown(profile_cache.dump(user), cipher)


async def set_platform_role(res: Resources, principal: Principal, client: ClientInfo, user_id: uuid.UUID,
                            role: str | None) -> None:
    """Grant or remove zone_admin/super_admin (only a super_admin touches super_admin). A change
    revokes every session of the user, denied at once through Redis and announced as
    `auth.revoked`; no change is a no-op."""
    async with principal_transaction(res.db(), principal) as s:
        target = await accounts.by_id(s, principal.zone_id, user_id)
        if target is None:
            raise AppError(404, "user.not_found", "no such user in this zone")
        if "super_admin" in (role, target.platform_role) and principal.role != "super_admin":
            raise AppError(403, "auth.permission_denied", "only a super_admin grants or removes super_admin")
        if target.platform_role == role:
            return
        await queries.set_platform_role(s, principal.zone_id, user_id, role)
        sids = await sessions.revoke_all(s, principal.zone_id, user_id, "role_changed")
        await audit_log.record(s, zone_id=principal.zone_id, action="admin.platform_role.changed",
                               user_id=principal.user_id, org_id=principal.org_id, client=client,
                               details={"target_user_id": str(user_id), "from": target.platform_role, "to": role,
                                        "revoked_sids": sids})
        await add_event(s, "auth", "auth.revoked", {"user_id": str(user_id), "sids": sids, "reason": "role_changed"},
                        zone_id=principal.zone_id)
        await deny_sessions(res.redis, res.keys, principal.zone_id, sids, res.cache)
    await profile_cache.forget(res, principal.zone_id, user_id)
