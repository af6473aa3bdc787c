"""FastAPI dependencies every public service uses to authenticate and authorise a request.

    @router.post("/api/v1/exams")
    async def create(p: Principal = Depends(require("exam:create"))): ...

The token is verified locally; a token of zone A used on a zone-B host is refused (403
`auth.zone_mismatch`) unless A and B are one account audience (K-Zone's my-ktube.com and
my-ktube.ai, `megacity.auth.audience`), where the token keeps its own zone; a missing
permission is 403 `auth.permission_denied`, logged with who and what, and handed to
`app.state.on_permission_denied` when a service sets one (auth writes it to its audit log).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from megacity.auth.audience import accepts
from megacity.auth.tokens import Principal
from megacity.auth.verifier import JwksCache, TokenVerifier, http_jwks_fetcher
from megacity.errors import AppError
from megacity.http_app import request_zone
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import Zone

log = get_logger("megacity.auth")
DeniedHook = Callable[[Request, Principal, str], Awaitable[None]]


def token_verifier(request: Request) -> TokenVerifier:
    """The app's verifier, created on first use from settings.jwks_url (auth installs its own)."""
    state = request.app.state
    if getattr(state, "token_verifier", None) is None:
        state.token_verifier = TokenVerifier(JwksCache(http_jwks_fetcher(state.resources.settings.jwks_url)))
    verifier: TokenVerifier = state.token_verifier
    return verifier


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AppError(401, "auth.token_missing", "an access token is required (Authorization: Bearer …)",
                       {"www_authenticate": "Bearer"})
    return token.strip()


async def authenticate(request: Request, extra: Callable[[Principal], list[str]] | None = None
                       ) -> tuple[Principal, Zone, list[Any]]:
    """The verified caller (signature, claims, revocation, zone of the Host), the zone, and the
    values of `extra(principal)` tracked keys read in the same lookup as the revocation check."""
    zone = await request_zone(request)
    res: Resources = request.app.state.resources
    principal, values = await token_verifier(request).verify_with(bearer_token(request), res.cached_reads, res.keys,
                                                                  extra)
    check_zone(principal, zone)
    request.state.principal = principal
    return principal, zone, values


async def current_principal(request: Request) -> Principal:
    """The verified caller, as a dependency.

    One dependency with no sub-dependencies: on a small authenticated read FastAPI's
    bookkeeping per dependency cost more than the check itself."""
    return (await authenticate(request))[0]


# `principal: CurrentPrincipal` for any authenticated caller.
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def check_zone(principal: Principal, zone: Zone) -> None:
    """A token of zone A on a zone-B host: 403 `auth.zone_mismatch`, unless both are one audience."""
    if not accepts(zone, principal.zone_id):
        raise AppError(403, "auth.zone_mismatch", f"this token belongs to another zone than {zone.key}")


def require(*permissions: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller, who must hold one of `permissions` (resource:action).

    Usually one; several when different roles reach an endpoint through different
    permissions (reports: `report:read` for teachers and parents, `attempt:read` for a
    student reading its own).
    """
    if not permissions:
        raise ValueError("require() needs at least one permission")
    wanted = " or ".join(permissions)

    async def dependency(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
        if not any(principal.can(p) for p in permissions):
            log.warning("permission denied", user_id=str(principal.user_id), role=principal.role,
                        permission=wanted, path=request.url.path)
            hook: DeniedHook | None = getattr(request.app.state, "on_permission_denied", None)
            if hook is not None:
                await hook(request, principal, wanted)
            raise AppError(403, "auth.permission_denied", f"role {principal.role} may not {wanted}")
        return principal

    dependency.__name__ = "require_" + "_or_".join(p.replace(":", "_").replace("*", "any") for p in permissions)
    return dependency

