"""My sessions: `GET /api/v1/auth/sessions`, `DELETE /api/v1/auth/sessions/{id}`."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from megacity.auth.dependencies import CurrentPrincipal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.auth.api_errors import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH
from services.auth.client_info import ClientDep
from services.auth.devices import service
from services.auth.devices.schemas import DeviceOut, DevicesOut

router = APIRouter(prefix="/api/v1/auth/sessions", tags=["sessions"])


@router.get("", response_model=DevicesOut, summary="My signed-in devices (live sessions)",
            responses=problems(UNAUTHORIZED, ZONE_MISMATCH, UNKNOWN_HOST))
async def my_sessions(principal: CurrentPrincipal, res: ResourcesDep) -> DevicesOut:
    rows = await service.my_sessions(res, principal)
    return DevicesOut(items=[DeviceOut(**vars(r), current=str(r.id) == principal.sid) for r in rows])


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Sign one of my devices out",
               description="Revokes that session: its refresh token stops working and its access tokens are "
                           "refused everywhere at once (Redis denylist, `auth.revoked` event).",
               responses=problems(UNAUTHORIZED, service.NOT_FOUND, ZONE_MISMATCH, UNKNOWN_HOST))
async def revoke(session_id: uuid.UUID, principal: CurrentPrincipal, client: ClientDep, res: ResourcesDep) -> Response:
    await service.revoke(res, principal, client, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
