"""Permission denials in auth's routes go to the audit log (app.state.on_permission_denied)."""
from __future__ import annotations

from fastapi import Request

from megacity.auth.tokens import Principal
from megacity.telemetry.logs import get_logger
from services.auth import audit_log
from services.auth.client_info import client_of
from services.auth.db_scope import principal_transaction

log = get_logger("auth.audit")


async def on_permission_denied(request: Request, principal: Principal, permission: str) -> None:
    try:
        async with principal_transaction(request.app.state.resources.db(), principal) as s:
            await audit_log.record(s, zone_id=principal.zone_id, action="auth.permission_denied",
                               user_id=principal.user_id, org_id=principal.org_id, client=client_of(request),
                               details={"permission": permission, "role": principal.role,
                                        "method": request.method, "path": request.url.path})
    except Exception as exc:  # noqa: BLE001 - the 403 must still reach the caller
        log.warning("could not audit a permission denial", error=str(exc)[:300])
