"""My sessions: list the caller's live sessions and revoke one (a lost phone, a shared PC).
Revoking is the same as a logout of that device: the session and its refresh tokens die, its
`sid` is denied in Redis at once (every verifier refuses its access tokens) and `auth.revoked`
(reason `user_revoked`) tells the other services."""
from __future__ import annotations

import uuid

from megacity.auth.tokens import Principal
from megacity.auth.verifier import deny_sessions
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.runtime import Resources
from services.auth import audit_log
from services.auth.client_info import ClientInfo
from services.auth.db_scope import principal_transaction
from services.auth.devices import queries
from services.auth.devices.queries import DeviceRow

NOT_FOUND = (404, "auth.session_not_found", "no live session with this id is yours")


async def my_sessions(res: Resources, principal: Principal) -> list[DeviceRow]:
    async with principal_transaction(res.db(), principal) as s:
        return await queries.live_sessions(s, principal.zone_id, principal.user_id)


async def revoke(res: Resources, principal: Principal, client: ClientInfo, sid: uuid.UUID) -> None:
    """Sign one of my devices out (the current one too, if asked). 404 when not mine or not live."""
    async with principal_transaction(res.db(), principal) as s:
        if not await queries.revoke_own(s, principal.zone_id, principal.user_id, sid):
            raise AppError(*NOT_FOUND)
        await audit_log.record(s, zone_id=principal.zone_id, action="auth.session.revoked",
                               user_id=principal.user_id, org_id=principal.org_id, client=client,
                               details={"sid": str(sid), "by_sid": principal.sid})
        await add_event(s, "auth", "auth.revoked", {"user_id": str(principal.user_id), "sids": [str(sid)],
                                                    "reason": "user_revoked"}, zone_id=principal.zone_id)
        await deny_sessions(res.redis, res.keys, principal.zone_id, [str(sid)], res.cache)
