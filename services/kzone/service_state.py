"""What K-Zone's features share besides megacity's Resources (settings and object storage), and
the FastAPI dependencies its routes use to reach them."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from services.kzone.permissions import org_of
from services.kzone.settings import KzoneSettings
from services.kzone.storage import ObjectStorage


@dataclass
class KzoneState:
    settings: KzoneSettings
    storage: ObjectStorage

    def presign(self, base_url: str, key: str, filename: str | None = None) -> str:
        return self.storage.presigned_get(key, expires_in=self.settings.presign_ttl_seconds, base_url=base_url,
                                          filename=filename)


async def kzone_state(request: Request) -> KzoneState:
    """FastAPI dependency: the process's KzoneState (set by main.build)."""
    return request.app.state.kzone


KzoneStateDep = Annotated[KzoneState, Depends(kzone_state)]


@dataclass(frozen=True)
class ObjectUrls:
    """Presigned GET URLs (valid `presign_ttl_seconds`) for one request: they point at the
    configured public base, else at the caller's host."""

    state: KzoneState
    base_url: str

    def __call__(self, key: str, filename: str | None = None) -> str:
        return self.state.presign(self.base_url, key, filename)


async def object_urls(request: Request) -> ObjectUrls:
    state: KzoneState = request.app.state.kzone
    return ObjectUrls(state, state.settings.public_base_url or str(request.base_url).rstrip("/"))


# `urls: ObjectUrlsDep` in a route that hands out object URLs.
ObjectUrlsDep = Annotated[ObjectUrls, Depends(object_urls)]


def org_member(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency like `require(permission)`, and the token must be scoped to an org (403
    `kzone.org_required` otherwise), checked before the request body is read. Use it as
    `Annotated[Principal, Depends(org_member(permission))]`."""
    needs_permission = require(permission)

    async def dependency(principal: Principal = Depends(needs_permission)) -> Principal:
        org_of(principal)
        return principal

    dependency.__name__ = f"org_member_{permission.replace(':', '_')}"
    return dependency
