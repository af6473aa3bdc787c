"""Serves the filesystem backend's presigned GET URLs (HMAC-signed, 7 days by default).

No token: the signature over (key, expiry) is the credential, as with an S3 presigned URL.
"""
from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from megacity.errors import AppError
from megacity.http_app import problem_response
from services.kzone.service_state import KzoneState, kzone_state
from services.kzone.storage import check_key
from services.kzone.storage.filesystem import FilesystemStorage

router = APIRouter(prefix="/api/v1/kzone/objects", tags=["objects"])


@router.get("/{key:path}", summary="Download an object through a presigned URL",
            description="The URL comes from an upload, content or job result response; it is valid until "
                        "`expires` (7 days after it was issued). A changed key, expiry or signature is 403.",
            response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}},
                       **problem_response(403, "object.signature_invalid", "Signature does not match"),
                       **problem_response(410, "object.url_expired", "The presigned URL has expired"),
                       **problem_response(404, "object.not_found", "No such object")})
async def get_object(key: str, expires: str | None = Query(None, max_length=20),
                     signature: str | None = Query(None, max_length=100),
                     state: KzoneState = Depends(kzone_state)) -> FileResponse:
    storage = state.storage
    if not isinstance(storage, FilesystemStorage):
        raise AppError(404, "object.not_found", "objects are served by the S3 endpoint in this deployment")
    try:
        check_key(key)
    except ValueError:
        raise AppError(403, "object.signature_invalid", "invalid object URL") from None
    problem = storage.verify(key, expires, signature)
    if problem == "expired":
        raise AppError(410, "object.url_expired", "this presigned URL has expired; ask for a new one")
    if problem is not None:
        raise AppError(403, "object.signature_invalid", "the URL's signature does not match")
    path = storage.path(key)
    if not path.is_file():
        raise AppError(404, "object.not_found", "no such object")
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=ctype, headers={"Cache-Control": "private, max-age=3600"})
