"""`GET /api/v1/kzone/objects/{key}`: the filesystem backend's presigned GET URLs."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from services.kzone.objects import service
from services.kzone.objects.schemas import DOWNLOAD_RESPONSES
from services.kzone.service_state import KzoneStateDep

router = APIRouter(prefix="/api/v1/kzone/objects", tags=["objects"])


@router.get("/{key:path}", summary="Download an object through a presigned URL",
            description="The URL comes from an upload, content or job result response; it is valid until "
                        "`expires` (7 days after it was issued). A changed key, expiry or signature is 403.",
            response_class=FileResponse,
            responses=DOWNLOAD_RESPONSES)
async def get_object(key: str, state: KzoneStateDep, expires: Annotated[str | None, Query(max_length=20)] = None,
                     signature: Annotated[str | None, Query(max_length=100)] = None) -> FileResponse:
    found = service.signed_object(state.storage, key, expires, signature)
    return FileResponse(found.path, media_type=found.media_type, headers={"Cache-Control": "private, max-age=3600"})
