"""The caller's own account, and platform roles (zone_admin, super_admin) managed by admins."""
from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from megacity.auth.dependencies import authenticate, require
from megacity.auth.tokens import Principal
from megacity.auth.verifier import deny_sessions
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.http_app import problems
from megacity.runtime import Resources, resources
from services.auth import audit, profile_cache, sessions, users
from services.auth.client_info import ClientInfo, client_info
from services.auth.db_scope import principal_transaction
from services.auth.http_shared import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class MeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7c0e2b1a-3d4f-4a5b-8c6d-9e0f1a2b3c4d", "zone": "univ", "zone_id": 1, "email": "minji@example.com",
        "display_name": "Minji Kim", "phone": "+82 10-1234-5678", "role": "student",
        "org_id": "5d1c3f0e-8a7b-4e6f-9d2c-1b0a9f8e7d6c", "platform_role": None,
        "permissions": ["exam:read", "attempt:create", "attempt:read", "profile:read", "profile:update"],
        "mfa_enabled": False, "session_id": "0b7e5a6c-2f0d-4c55-9a8e-1f3d2c4b5a69",
        "created_at": "2026-03-01T09:00:00Z"}]})

    id: uuid.UUID
    zone: str
    zone_id: int
    email: str
    display_name: str
    phone: str | None
    role: str = Field(description="the role of this session (platform role or org membership)")
    org_id: uuid.UUID | None
    platform_role: str | None
    permissions: list[str]
    mfa_enabled: bool
    session_id: str | None
    created_at: dt.datetime


@router.get("/me", response_model=MeOut, summary="The logged-in user",
            responses=problems(UNAUTHORIZED, ZONE_MISMATCH, UNKNOWN_HOST))
async def me(request: Request) -> JSONResponse:
    """The platform's hottest authenticated read, kept lean: no FastAPI sub-dependencies (their
    bookkeeping cost more than the work), the revocation check and the cached profile in one read
    of the tracked cache (in process unless Redis announced a change), and the body built from a
    memoised view of the cached profile instead of a re-validated response model (the shape is
    MeOut's, which tests check)."""
    res: Resources = request.app.state.resources
    principal, zone, (cached,) = await authenticate(
        request, lambda p: [profile_cache.key(res.keys, p.zone_id, p.user_id)])
    cipher = request.app.state.auth.cipher
    profile = None
    if cached:
        with contextlib.suppress(ValueError):  # cached before a PII key rotation dropped its key
            profile = profile_cache.shown(cached, cipher)
    if profile is None:
        async with principal_transaction(res.db(), principal) as s:
            user = await users.by_id(s, principal.zone_id, principal.user_id)
        if user is None:
            raise AppError(401, "auth.token_invalid", "the account no longer exists", {"www_authenticate": "Bearer"})
        await profile_cache.store(res, user)
        profile = profile_cache.shown(profile_cache.dump(user), cipher)
    return JSONResponse({
        **profile, "zone": zone.key, "zone_id": principal.zone_id, "role": principal.role,
        "org_id": str(principal.org_id) if principal.org_id else None,
        "permissions": sorted(principal.permissions), "session_id": principal.sid})


class PlatformRoleIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "zone_admin"}, {"role": None}]})

    role: Literal["zone_admin", "super_admin"] | None = Field(description="null removes the platform role")


@router.put("/{user_id}/platform-role", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
            summary="Grant or remove a zone-level role (admins)",
            description="zone_admin and super_admin may grant or remove zone_admin in their zone; only a "
                        "super_admin grants super_admin. The user's sessions are revoked (they log in again "
                        "with the new role, and pass MFA enrollment if it is now required).",
            responses=problems(UNAUTHORIZED, (403, "auth.permission_denied", "Not allowed to grant this role"),
                               ZONE_MISMATCH, (404, "user.not_found", "No such user in this zone"), UNKNOWN_HOST))
async def set_platform_role(user_id: uuid.UUID, body: PlatformRoleIn,
                            principal: Principal = Depends(require("zone:update")),
                            client: ClientInfo = Depends(client_info), res: Resources = Depends(resources)) -> Response:
    async with principal_transaction(res.db(), principal) as s:
        target = await users.by_id(s, principal.zone_id, user_id)
        if target is None:
            raise AppError(404, "user.not_found", "no such user in this zone")
        if "super_admin" in (body.role, target.platform_role) and principal.role != "super_admin":
            raise AppError(403, "auth.permission_denied", "only a super_admin grants or removes super_admin")
        if target.platform_role == body.role:
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        await users.set_platform_role(s, principal.zone_id, user_id, body.role)
        sids = await sessions.revoke_all(s, principal.zone_id, user_id, "role_changed")
        await audit.record(s, zone_id=principal.zone_id, action="admin.platform_role.changed", user_id=principal.user_id,
                           org_id=principal.org_id, client=client,
                           details={"target_user_id": str(user_id), "from": target.platform_role, "to": body.role,
                                    "revoked_sids": sids})
        await add_event(s, "auth", "auth.revoked", {"user_id": str(user_id), "sids": sids, "reason": "role_changed"},
                        zone_id=principal.zone_id)
        await deny_sessions(res.redis, res.keys, principal.zone_id, sids, res.cache)
    await profile_cache.forget(res, principal.zone_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
