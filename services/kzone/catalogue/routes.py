"""The catalogue over HTTP: `/api/v1/kzone/contents`."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problem_response, problems
from megacity.runtime import ResourcesDep
from services.kzone import permissions as perm
from services.kzone.api_docs import AUTH_ERRORS, ORG_REQUIRED
from services.kzone.catalogue import service
from services.kzone.catalogue.queries import ContentRow
from services.kzone.catalogue.schemas import ContentIn, ContentOut, ContentPage, ContentPatch, ContentType
from services.kzone.service_state import ObjectUrls, ObjectUrlsDep

router = APIRouter(prefix="/api/v1/kzone/contents", tags=["catalogue"])

ContentReader = Annotated[Principal, Depends(require(perm.CONTENT_READ))]
ContentCreator = Annotated[Principal, Depends(require(perm.CONTENT_CREATE))]
ContentEditor = Annotated[Principal, Depends(require(perm.CONTENT_UPDATE))]
ContentRemover = Annotated[Principal, Depends(require(perm.CONTENT_DELETE))]

_NOT_FOUND = problem_response(404, "content.not_found", "No such content in your org")
_MEDIA_NOT_FOUND = problem_response(422, "content.media_not_found", "Unknown media_id")
_NO_URL_OR_MEDIA = problem_response(422, "request.invalid", "The body failed validation, or the content would "
                                    "have neither a url nor a media_id", "give a url or a media_id")


def _out(row: ContentRow, urls: ObjectUrls) -> ContentOut:
    return ContentOut(id=row.id, title=row.title, type=row.type, url=row.url, media_id=row.media_id,
                      media_url=urls(row.storage_key) if row.storage_key else None, description=row.description,
                      tags=row.tags, created_by=row.created_by, created_at=row.created_at, updated_at=row.updated_at)


@router.post("", status_code=201, response_model=ContentOut, summary="Add content to the catalogue",
             description="Needs `kzone:content_create`. `media_id` is an upload from `POST /api/v1/kzone/uploads` "
                         "in the same org; give a `url`, a `media_id` or both.",
             responses=problems(AUTH_ERRORS, ORG_REQUIRED, _MEDIA_NOT_FOUND, _NO_URL_OR_MEDIA))
async def create_content(body: ContentIn, principal: ContentCreator, res: ResourcesDep,
                         urls: ObjectUrlsDep) -> ContentOut:
    return _out(await service.create_content(res, principal, body), urls)


@router.get("", response_model=ContentPage, summary="Search the catalogue (title and tags), cursor-paginated",
            description="Needs `kzone:content_read`. `q` matches anywhere in the title (case-insensitive); each "
                        "`tag` must be present (repeat `tag` for several). Newest first; follow `next_cursor`.",
            responses=problems(AUTH_ERRORS, (400, "request.invalid_cursor", "Unknown cursor")))
async def search_contents(
        principal: ContentReader, res: ResourcesDep, urls: ObjectUrlsDep,
        q: Annotated[str | None, Query(max_length=200, description="Substring of the title")] = None,
        tag: Annotated[list[str] | None, Query(description="Tag that must be present (repeatable)")] = None,
        type: Annotated[ContentType | None, Query(description="Only this content type")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None) -> ContentPage:
    search = service.ContentSearch(q=q, tags=tag, type=type, limit=limit, cursor=cursor)
    page = await service.search_contents(res, principal, search)
    return ContentPage(items=[_out(r, urls) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{content_id}", response_model=ContentOut, summary="One catalogue entry",
            description="Needs `kzone:content_read`. Includes a presigned media URL (7 days) when it has media.",
            responses=problems(AUTH_ERRORS, _NOT_FOUND))
async def get_content(content_id: uuid.UUID, principal: ContentReader, res: ResourcesDep,
                      urls: ObjectUrlsDep) -> ContentOut:
    return _out(await service.get_content(res, principal, content_id), urls)


@router.patch("/{content_id}", response_model=ContentOut, summary="Edit a catalogue entry",
              description="Needs `kzone:content_update`. Only the fields given change; `null` clears "
                          "url/media/description.",
              responses=problems(AUTH_ERRORS, _NOT_FOUND, _MEDIA_NOT_FOUND, _NO_URL_OR_MEDIA))
async def update_content(content_id: uuid.UUID, body: ContentPatch, principal: ContentEditor, res: ResourcesDep,
                         urls: ObjectUrlsDep) -> ContentOut:
    return _out(await service.update_content(res, principal, content_id, body), urls)


@router.delete("/{content_id}", status_code=204, response_class=Response, summary="Remove a catalogue entry",
               description="Needs `kzone:content_delete` (org and zone admins). The media object stays (other "
                           "content may use it).", responses=problems(AUTH_ERRORS, _NOT_FOUND))
async def delete_content(content_id: uuid.UUID, principal: ContentRemover, res: ResourcesDep) -> Response:
    await service.delete_content(res, principal, content_id)
    return Response(status_code=204)
