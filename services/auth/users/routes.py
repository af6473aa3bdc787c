"""The caller's own account, and platform roles (zone_admin, super_admin) managed by admins."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from megacity.auth.dependencies import authenticate, require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import Resources, ResourcesDep
from services.auth import profile_cache
from services.auth.api_errors import UNAUTHORIZED, UNKNOWN_HOST, ZONE_MISMATCH
from services.auth.client_info import ClientDep
from services.auth.users import service
from services.auth.users.schemas import MeOut, MeUpdateIn, PlatformRoleIn

router = APIRouter(prefix="/api/v1/users", tags=["users"])

ZoneAdmin = Annotated[Principal, Depends(require("zone:update"))]


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
    profile = await service.my_profile(res, request.app.state.auth.cipher, principal, cached)
    return JSONResponse(_me_body(profile, zone.key, principal))


@router.patch("/me", response_model=MeOut, summary="Change my own account: the pages' language",
              description="Any signed-in user, for their own account. `locale` is the language the pages are "
                          "shown in (`ko`, `en`); `null` goes back to the browser's (Accept-Language). The answer "
                          "is the profile as `GET /users/me` now shows it (at once, on every replica). Pages "
                          "switch to the account's language after sign-in (the token answers carry `locale` too).",
              responses=problems(UNAUTHORIZED, ZONE_MISMATCH, UNKNOWN_HOST))
async def update_me(request: Request, body: MeUpdateIn) -> JSONResponse:
    res: Resources = request.app.state.resources
    principal, zone, _ = await authenticate(request)
    profile = await service.set_my_locale(res, request.app.state.auth.cipher, principal, body.locale)
    return JSONResponse(_me_body(profile, zone.key, principal))


def _me_body(profile: Mapping[str, Any], zone_key: str, principal: Principal) -> dict[str, Any]:
    """MeOut's shape: the account's profile and this session's role, org and permissions."""
    return {**profile, "zone": zone_key, "zone_id": principal.zone_id, "role": principal.role,
            "org_id": str(principal.org_id) if principal.org_id else None,
            "permissions": sorted(principal.permissions), "session_id": principal.sid}


@router.put("/{user_id}/platform-role", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
            summary="Grant or remove a zone-level role (admins)",
            description="zone_admin and super_admin may grant or remove zone_admin in their zone; only a "
                        "super_admin grants super_admin. The user's sessions are revoked (they log in again "
                        "with the new role, and pass MFA enrollment if it is now required).",
            responses=problems(UNAUTHORIZED, (403, "auth.permission_denied", "Not allowed to grant this role"),
                               ZONE_MISMATCH, (404, "user.not_found", "No such user in this zone"), UNKNOWN_HOST))
async def set_platform_role(user_id: uuid.UUID, body: PlatformRoleIn, principal: ZoneAdmin, client: ClientDep,
                            res: ResourcesDep) -> Response:
    await service.set_platform_role(res, principal, client, user_id, body.role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
