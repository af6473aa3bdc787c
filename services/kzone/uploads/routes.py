"""Media uploads over HTTP: `/api/v1/kzone/uploads` (multipart, streamed by `upload_stream`)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.kzone import permissions as perm
from services.kzone.api_docs import AUTH_ERRORS, ORG_REQUIRED, UPLOAD_ERRORS, multipart_body
from services.kzone.service_state import KzoneStateDep, ObjectUrls, ObjectUrlsDep, org_member
from services.kzone.upload_stream import FileField, UploadReceiver
from services.kzone.uploads import service
from services.kzone.uploads.queries import MediaRow
from services.kzone.uploads.schemas import MediaOut

router = APIRouter(prefix="/api/v1/kzone/uploads", tags=["uploads"])

MediaUploader = Annotated[Principal, Depends(org_member(perm.MEDIA_UPLOAD))]
MediaReader = Annotated[Principal, Depends(require(perm.CONTENT_READ))]


def _out(row: MediaRow, urls: ObjectUrls) -> MediaOut:
    return MediaOut(id=row.id, kind=row.media_kind, content_type=row.content_type, size_bytes=row.size_bytes,
                    sha256=row.sha256, key=row.storage_key, filename=row.original_filename,
                    url=urls(row.storage_key, row.original_filename), created_at=row.created_at)


@router.post("", status_code=201, response_model=MediaOut, summary="Upload a media file (up to 500 MB, streamed)",
             description="Needs `kzone:content_create`. multipart/form-data with one `file` (audio, video or image; "
                         "the type is taken from the content's magic bytes). The file is streamed to object storage "
                         "and only kept when the whole upload arrived: a truncated body, an oversize file or a "
                         "non-media file is a 4xx and leaves no object and no row.",
             responses=problems(UPLOAD_ERRORS, ORG_REQUIRED),
             openapi_extra=multipart_body({"file": {"type": "string", "format": "binary"}}, ["file"]))
async def upload_media(request: Request, principal: MediaUploader, res: ResourcesDep, state: KzoneStateDep,
                       urls: ObjectUrlsDep) -> MediaOut:
    async with UploadReceiver(request, state.storage, files=[FileField("file", service.CONTENT_KINDS)],
                              text_fields=frozenset(), max_file_bytes=state.settings.max_upload_bytes) as upload:
        await upload.receive()
        await upload.store()
        row = await service.record_content_media(res, principal, upload.files["file"].stored())
        upload.keep()
    return _out(row, urls)


@router.get("/{media_id}", response_model=MediaOut, summary="An uploaded media file, with a fresh presigned URL",
            description="Needs `kzone:content_read`. Content media is visible to the org; AI-job input media only "
                        "to its owner and staff.",
            responses=problems(AUTH_ERRORS, (404, "media.not_found", "No such media in your org")))
async def get_media(media_id: uuid.UUID, principal: MediaReader, res: ResourcesDep, urls: ObjectUrlsDep) -> MediaOut:
    return _out(await service.get_media(res, principal, media_id), urls)
