"""Media uploads (`kzone.kzone_media`): multipart, streamed into object storage, type checked by
magic bytes, size-limited while streaming; nothing is stored unless the whole upload succeeds."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.runtime import Resources, resources
from services.kzone import permissions as perm
from services.kzone.service_state import KzoneState, kzone_state, org_of
from services.kzone.upload_stream import FileField, ReceivedFile, UploadReceiver

router = APIRouter(prefix="/api/v1/kzone/uploads", tags=["uploads"])

ALL_KINDS = frozenset({"audio", "video", "image"})

UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **problem_response(400, "upload.truncated", "The body ended early, was malformed or had unexpected fields",
                       "the upload ended before the closing multipart boundary (truncated body)"),
    **problem_response(401, "auth.token_missing", "An access token is required"),
    **problem_response(403, "auth.permission_denied", "The caller's role lacks the permission"),
    **problem_response(413, "upload.too_large", "A file is over the size limit (500 MB by default)"),
    **problem_response(415, "upload.unsupported_type", "Not an accepted media file (checked by magic bytes)"),
    **problem_response(422, "request.invalid", "A required field is missing, or a file name or text field "
                       "holds NUL or a lone surrogate", "request failed validation"),
}


def multipart_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """`openapi_extra` documenting a multipart body that the endpoint parses itself."""
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": required, "properties": properties}}}}}


class MediaOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "kind": "video", "content_type": "video/mp4",
        "size_bytes": 48213377, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "key": "kzone/video/0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d/original.mp4", "filename": "dynamite.mp4",
        "url": "https://api.my-ktube.com/api/v1/kzone/objects/kzone/video/0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d/"
               "original.mp4?expires=1767225600&signature=…", "created_at": "2026-11-27T12:00:00Z"}]})

    id: uuid.UUID
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    key: str = Field(description="Object key (seed 001 §2.8 layout)")
    filename: str | None
    url: str = Field(description="Presigned GET URL, valid 7 days")
    created_at: dt.datetime


async def insert_media(session: AsyncSession, principal: Principal, received: ReceivedFile, purpose: str) -> None:
    await session.execute(text(
        "INSERT INTO kzone.kzone_media (id, zone_id, org_id, owner_id, purpose, media_kind, content_type, size_bytes,"
        " sha256, storage_key, original_filename) VALUES (:id, :zone, :org, :owner, :purpose, :kind, :ctype, :size,"
        " :sha, :key, :filename)"),
        {"id": received.media_id, "zone": principal.zone_id, "org": org_of(principal), "owner": principal.user_id,
         "purpose": purpose, "kind": received.media.kind, "ctype": received.media.content_type,
         "size": received.size, "sha": received.sha256, "key": received.key, "filename": received.filename})


@router.post("", status_code=201, response_model=MediaOut, summary="Upload a media file (up to 500 MB, streamed)",
             description="Needs `exam:create`. multipart/form-data with one `file` (audio, video or image; the type "
                         "is taken from the content's magic bytes). The file is streamed to object storage and "
                         "only kept when the whole upload arrived: a truncated body, an oversize file or a "
                         "non-media file is a 4xx and leaves no object and no row.",
             responses=UPLOAD_ERRORS,
             openapi_extra=multipart_body({"file": {"type": "string", "format": "binary"}}, ["file"]))
async def upload_media(request: Request, principal: Principal = Depends(require(perm.MEDIA_UPLOAD)),
                       res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> MediaOut:
    org_of(principal)
    async with UploadReceiver(request, state.storage, files=[FileField("file", ALL_KINDS)], text_fields=set(),
                              max_file_bytes=state.settings.max_upload_bytes) as upload:
        await upload.receive()
        await upload.commit()
        received = upload.files["file"]
        async with tenant_transaction(res.db(), principal.tenant()) as session:
            await insert_media(session, principal, received, "content")
            created = (await session.execute(text("SELECT created_at FROM kzone.kzone_media WHERE id = :id"),
                                             {"id": received.media_id})).scalar_one()
        upload.keep()
    return MediaOut(id=received.media_id, kind=received.media.kind, content_type=received.media.content_type,
                    size_bytes=received.size, sha256=received.sha256, key=received.key, filename=received.filename,
                    url=state.presign(request, received.key, received.filename), created_at=created)


@router.get("/{media_id}", response_model=MediaOut, summary="An uploaded media file, with a fresh presigned URL",
            description="Needs `exam:read`. Content media is visible to the org; AI-job input media only to its "
                        "owner and staff.",
            responses={**problem_response(401, "auth.token_missing", "An access token is required"),
                       **problem_response(403, "auth.permission_denied", "The caller's role lacks the permission"),
                       **problem_response(404, "media.not_found", "No such media in your org")})
async def get_media(media_id: uuid.UUID, request: Request, principal: Principal = Depends(require(perm.CONTENT_READ)),
                    res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> MediaOut:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        row = (await session.execute(text(
            "SELECT id, owner_id, purpose, media_kind, content_type, size_bytes, sha256, storage_key,"
            " original_filename, created_at FROM kzone.kzone_media WHERE id = :id"), {"id": media_id})).first()
    if row is None or (row.purpose != "content" and row.owner_id != principal.user_id
                       and principal.role not in perm.STAFF_ROLES):
        raise AppError(404, "media.not_found", f"no media {media_id} in your org")
    return MediaOut(id=row.id, kind=row.media_kind, content_type=row.content_type, size_bytes=row.size_bytes,
                    sha256=row.sha256, key=row.storage_key, filename=row.original_filename,
                    url=state.presign(request, row.storage_key, row.original_filename), created_at=row.created_at)
