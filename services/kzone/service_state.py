"""What K-Zone's handlers share besides megacity's Resources: settings and object storage."""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from megacity.auth.tokens import Principal
from megacity.errors import AppError
from services.kzone.settings import KzoneSettings
from services.kzone.storage import ObjectStorage


@dataclass
class KzoneState:
    settings: KzoneSettings
    storage: ObjectStorage

    def base_url(self, request: Request) -> str:
        """Where signed object URLs point: the configured public base, else the caller's host."""
        return self.settings.public_base_url or str(request.base_url).rstrip("/")

    def presign(self, request: Request, key: str, filename: str | None = None) -> str:
        return self.storage.presigned_get(key, expires_in=self.settings.presign_ttl_seconds,
                                          base_url=self.base_url(request), filename=filename)


async def kzone_state(request: Request) -> KzoneState:
    """FastAPI dependency: the process's KzoneState (set by main.build)."""
    return request.app.state.kzone


def org_of(principal: Principal) -> object:
    """The caller's org; K-Zone data always belongs to one (zone-level callers must act in an org)."""
    if principal.org_id is None:
        raise AppError(403, "kzone.org_required", "this action needs a token scoped to an org")
    return principal.org_id
