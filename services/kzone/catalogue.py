"""The K-content catalogue (`kzone.kzone_contents`): CRUD, search by title and tag, keyset
(cursor) pagination (megacity.pagination), newest first. Rows are per org; RLS decides what exists for the caller."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import text

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.pagination import Keyset
from megacity.runtime import Resources, resources
from services.kzone import permissions as perm
from services.kzone.service_state import KzoneState, kzone_state, org_of

router = APIRouter(prefix="/api/v1/kzone/contents", tags=["catalogue"])

ContentType = Literal["video", "audio", "image", "article"]
_COLUMNS = "id, title, type, url, media_id, description, tags, created_by, created_at, updated_at"
_AUTH_ERRORS = {**problem_response(401, "auth.token_missing", "An access token is required"),
                **problem_response(403, "auth.permission_denied", "The caller's role lacks the permission")}
_NOT_FOUND = problem_response(404, "content.not_found", "No such content in your org")
# Newest first: ORDER BY created_at DESC, id DESC.
CONTENTS_KEYSET = Keyset("kzone.contents", created_at=dt.datetime, id=uuid.UUID)

EXAMPLE = {"id": "3f1c2b7e-8a4d-4c1e-9b2a-5d6e7f809a1b", "title": "BTS Dynamite — choreography breakdown",
           "type": "video", "url": None, "media_id": "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d",
           "media_url": "https://api.my-ktube.com/api/v1/kzone/objects/kzone/video/0a9b8c7d-6e5f-4a3b-9c2d-"
                        "1e0f9a8b7c6d/original.mp4?expires=1767225600&signature=…",
           "description": "Step-by-step chorus moves.", "tags": ["kpop", "dance"],
           "created_by": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "created_at": "2026-11-27T12:00:00Z",
           "updated_at": "2026-11-27T12:00:00Z"}


def _clean_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    out: list[str] = []
    for tag in tags:
        norm = " ".join(tag.split()).lower()
        if not 1 <= len(norm) <= 40:
            raise ValueError("each tag must be 1-40 characters")
        if norm not in out:
            out.append(norm)
    if len(out) > 20:
        raise ValueError("at most 20 tags")
    return out


class ContentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "BTS Dynamite — choreography breakdown", "type": "video",
        "media_id": "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "tags": ["kpop", "dance"],
        "description": "Step-by-step chorus moves."}, {
        "title": "Korean drama phrases: greetings", "type": "article", "url": "https://my-ktube.com/a/greetings",
        "tags": ["drama", "korean"]}]})

    title: str = Field(min_length=1, max_length=300)
    type: ContentType
    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    media_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=5000)
    tags: list[str] = Field(default_factory=list)

    _tags = field_validator("tags")(lambda cls, v: _clean_tags(v))


class ContentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Dynamite (slow)",
                                                                               "tags": ["kpop", "slow"]}]})

    title: str | None = Field(default=None, min_length=1, max_length=300)
    type: ContentType | None = None
    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    media_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=5000)
    tags: list[str] | None = None

    _tags = field_validator("tags")(lambda cls, v: _clean_tags(v))


class ContentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: uuid.UUID
    title: str
    type: str
    url: str | None
    media_id: uuid.UUID | None
    media_url: str | None = Field(None, description="Presigned GET URL of the media, valid 7 days")
    description: str | None
    tags: list[str]
    created_by: uuid.UUID
    created_at: dt.datetime
    updated_at: dt.datetime


class ContentPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "next_cursor":
                                                              "AVsiMjAyNi0xMS0yN1QxMjowMDowMCswMDowMCIsIjNmMWMy…"}]})

    items: list[ContentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def _media_key(session: Any, media_id: uuid.UUID | None) -> str | None:
    if media_id is None:
        return None
    key = (await session.execute(text("SELECT storage_key FROM kzone.kzone_media WHERE id = :id"),
                                 {"id": media_id})).scalar()
    if key is None:
        raise AppError(422, "content.media_not_found", f"no uploaded media {media_id} in your org")
    return key


def _out(row: Any, state: KzoneState, request: Request, media_key: str | None) -> ContentOut:
    data = dict(row._mapping)
    data.pop("storage_key", None)
    return ContentOut(**data, media_url=state.presign(request, media_key) if media_key else None)


@router.post("", status_code=201, response_model=ContentOut, summary="Add content to the catalogue",
             description="Needs `exam:create`. `media_id` is an upload from `POST /api/v1/kzone/uploads` in the "
                         "same org; give a `url`, a `media_id` or both.",
             responses={**_AUTH_ERRORS, **problem_response(422, "content.media_not_found", "Unknown media_id")})
async def create_content(body: ContentIn, request: Request, principal: Principal = Depends(require(perm.CONTENT_CREATE)),
                         res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> ContentOut:
    org = org_of(principal)
    if body.url is None and body.media_id is None:
        raise AppError(422, "request.invalid", "give a url or a media_id")
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        key = await _media_key(session, body.media_id)
        row = (await session.execute(text(
            "INSERT INTO kzone.kzone_contents (zone_id, org_id, title, type, url, media_id, description, tags,"
            " created_by) VALUES (:zone, :org, :title, :type, :url, :media, :description, :tags, :by)"
            f" RETURNING {_COLUMNS}"),
            {"zone": principal.zone_id, "org": org, "title": body.title, "type": body.type, "url": body.url,
             "media": body.media_id, "description": body.description, "tags": body.tags,
             "by": principal.user_id})).one()
    return _out(row, state, request, key)


@router.get("", response_model=ContentPage, summary="Search the catalogue (title and tags), cursor-paginated",
            description="Needs `exam:read`. `q` matches anywhere in the title (case-insensitive); each `tag` "
                        "must be present (repeat `tag` for several). Newest first; follow `next_cursor`.",
            responses={**_AUTH_ERRORS, **problem_response(400, "request.invalid_cursor", "Unknown cursor")})
async def search_contents(
        request: Request,
        q: Annotated[str | None, Query(max_length=200, description="Substring of the title")] = None,
        tag: Annotated[list[str] | None, Query(description="Tag that must be present (repeatable)")] = None,
        type: Annotated[ContentType | None, Query(description="Only this content type")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
        principal: Principal = Depends(require(perm.CONTENT_READ)), res: Resources = Depends(resources),
        state: KzoneState = Depends(kzone_state)) -> ContentPage:
    where = ["TRUE"]
    params: dict[str, Any] = {"limit": limit + 1}
    if q and q.strip():
        where.append("c.title ILIKE :q ESCAPE '\\'")
        params["q"] = _like(q.strip())
    if tag:
        try:
            params["tags"] = _clean_tags(tag)
        except ValueError as exc:
            raise AppError(422, "request.invalid", str(exc)) from None
        where.append("c.tags @> CAST(:tags AS text[])")
    if type:
        where.append("c.type = :type")
        params["type"] = type
    after = CONTENTS_KEYSET.decode(cursor, res.settings.secret_key)
    if after:
        params["c_at"], params["c_id"] = after
        where.append("(c.created_at, c.id) < (:c_at, :c_id)")
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        rows = (await session.execute(text(
            f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))}, m.storage_key"
            " FROM kzone.kzone_contents c LEFT JOIN kzone.kzone_media m ON m.id = c.media_id"
            f" WHERE {' AND '.join(where)} ORDER BY c.created_at DESC, c.id DESC LIMIT :limit"), params)).all()
    page, next_cursor = CONTENTS_KEYSET.page(rows, limit, res.settings.secret_key)
    return ContentPage(items=[_out(r, state, request, r.storage_key) for r in page], next_cursor=next_cursor)


async def _load(session: Any, content_id: uuid.UUID, *, lock: bool = False) -> Any:
    row = (await session.execute(text(
        f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))}, m.storage_key"
        " FROM kzone.kzone_contents c LEFT JOIN kzone.kzone_media m ON m.id = c.media_id WHERE c.id = :id"
        + (" FOR UPDATE OF c" if lock else "")), {"id": content_id})).first()
    if row is None:
        raise AppError(404, "content.not_found", f"no content {content_id} in your org")
    return row


@router.get("/{content_id}", response_model=ContentOut, summary="One catalogue entry",
            description="Needs `exam:read`. Includes a presigned media URL (7 days) when it has media.",
            responses={**_AUTH_ERRORS, **_NOT_FOUND})
async def get_content(content_id: uuid.UUID, request: Request,
                      principal: Principal = Depends(require(perm.CONTENT_READ)),
                      res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> ContentOut:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        row = await _load(session, content_id)
    return _out(row, state, request, row.storage_key)


@router.patch("/{content_id}", response_model=ContentOut, summary="Edit a catalogue entry",
              description="Needs `exam:update`. Only the fields given change; `null` clears url/media/description.",
              responses={**_AUTH_ERRORS, **_NOT_FOUND})
async def update_content(content_id: uuid.UUID, body: ContentPatch, request: Request,
                         principal: Principal = Depends(require(perm.CONTENT_UPDATE)),
                         res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> ContentOut:
    changes = body.model_dump(exclude_unset=True)
    for required in ("title", "type", "tags"):
        if required in changes and changes[required] is None:
            raise AppError(422, "request.invalid", f"{required} cannot be null")
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        current = await _load(session, content_id, lock=True)
        if "media_id" in changes:
            await _media_key(session, changes["media_id"])
        merged_url = changes.get("url", current.url)
        merged_media = changes.get("media_id", current.media_id)
        if merged_url is None and merged_media is None:
            raise AppError(422, "request.invalid", "content needs a url or a media_id")
        if changes:
            sets = ", ".join(f"{name} = :{name}" for name in changes)
            await session.execute(text(
                f"UPDATE kzone.kzone_contents SET {sets}, updated_at = now() WHERE id = :id"),
                {**changes, "id": content_id})
        row = await _load(session, content_id)
    return _out(row, state, request, row.storage_key)


@router.delete("/{content_id}", status_code=204, response_class=Response, summary="Remove a catalogue entry",
               description="Needs `exam:delete` (org and zone admins). The media object stays (other content may "
                           "use it).", responses={**_AUTH_ERRORS, **_NOT_FOUND})
async def delete_content(content_id: uuid.UUID, principal: Principal = Depends(require(perm.CONTENT_DELETE)),
                         res: Resources = Depends(resources)) -> Response:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        deleted = (await session.execute(text("DELETE FROM kzone.kzone_contents WHERE id = :id RETURNING id"),
                                         {"id": content_id})).first()
    if deleted is None:
        raise AppError(404, "content.not_found", f"no content {content_id} in your org")
    return Response(status_code=204)
