"""The catalogue's rules: content has a url or uploaded media of the same org (or both); tags are
normalised; search is newest first with keyset (cursor) pagination (megacity.pagination).
Rows are per org; RLS decides what exists for the caller."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.kzone.catalogue import queries
from services.kzone.catalogue.queries import ContentRow, SearchFilter
from services.kzone.catalogue.schemas import ContentIn, ContentPatch, clean_tags
from services.kzone.permissions import org_of

# Newest first: ORDER BY created_at DESC, id DESC.
CONTENTS_KEYSET = Keyset("kzone.contents", created_at=dt.datetime, id=uuid.UUID)


@dataclass(frozen=True)
class ContentSearch:
    q: str | None = None  # substring of the title
    tags: list[str] | None = None  # all must be present
    type: str | None = None
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class ContentPage:
    items: list[ContentRow]
    next_cursor: str | None


def _not_found(content_id: uuid.UUID) -> AppError:
    return AppError(404, "content.not_found", f"no content {content_id} in your org")


async def _media_key(session: AsyncSession, media_id: uuid.UUID | None) -> str | None:
    if media_id is None:
        return None
    key = await queries.media_key(session, media_id)
    if key is None:
        raise AppError(422, "content.media_not_found", f"no uploaded media {media_id} in your org")
    return key


def _summary(row: ContentRow, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the audit keeps of an entry: its identifying fields (all, or those that changed).
    The description (free text) only as a "changed" flag; record_audit clips long titles/tags."""
    full = {"title": row.title, "type": row.type, "url": row.url,
            "media_id": str(row.media_id) if row.media_id else None, "tags": row.tags}
    out: dict[str, Any] = {k: v for k, v in full.items() if fields is None or k in fields}
    if fields is not None and "description" in fields:
        out["description_changed"] = True
    return out


async def create_content(res: Resources, principal: Principal, body: ContentIn) -> ContentRow:
    org = org_of(principal)
    if body.url is None and body.media_id is None:
        raise AppError(422, "request.invalid", "give a url or a media_id")
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        key = await _media_key(session, body.media_id)
        row = await queries.insert_content(
            session, zone_id=principal.zone_id, org_id=org, created_by=principal.user_id, title=body.title,
            type=body.type, url=body.url, media_id=body.media_id, description=body.description, tags=body.tags,
            storage_key=key)
        await record_audit(session, schema="kzone", actor=principal, zone_id=principal.zone_id, org_id=org,
                           target_type="content", target_id=row.id, action="kzone.content.created",
                           after=_summary(row))
        return row


async def search_contents(res: Resources, principal: Principal, search: ContentSearch) -> ContentPage:
    q = search.q.strip() if search.q else ""
    tags = None
    if search.tags:
        try:
            tags = clean_tags(search.tags)
        except ValueError as exc:
            raise AppError(422, "request.invalid", str(exc)) from None
    after = CONTENTS_KEYSET.decode(search.cursor, res.settings.secret_key)
    where = SearchFilter(title_like=queries.like_pattern(q) if q else None, tags=tags, type=search.type,
                         after=(after[0], after[1]) if after else None, limit=search.limit + 1)
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        rows = await queries.search(session, where)
    page, next_cursor = CONTENTS_KEYSET.page(rows, search.limit, res.settings.secret_key)
    return ContentPage(page, next_cursor)


async def get_content(res: Resources, principal: Principal, content_id: uuid.UUID) -> ContentRow:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        row = await queries.content(session, content_id)
    if row is None:
        raise _not_found(content_id)
    return row


async def update_content(res: Resources, principal: Principal, content_id: uuid.UUID,
                         patch: ContentPatch) -> ContentRow:
    """Only the fields given change; `null` clears url/media/description (not title, type, tags)."""
    changes = patch.model_dump(exclude_unset=True)
    for required in ("title", "type", "tags"):
        if required in changes and changes[required] is None:
            raise AppError(422, "request.invalid", f"{required} cannot be null")
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        current = await queries.content(session, content_id, lock=True)
        if current is None:
            raise _not_found(content_id)
        if "media_id" in changes:
            await _media_key(session, changes["media_id"])
        if changes.get("url", current.url) is None and changes.get("media_id", current.media_id) is None:
            raise AppError(422, "request.invalid", "content needs a url or a media_id")
        if changes:
            await queries.update_content(session, content_id, changes)
        row = await queries.content(session, content_id)
        if changes and row is not None:
            await record_audit(session, schema="kzone", actor=principal, zone_id=principal.zone_id,
                               org_id=org_of(principal), target_type="content", target_id=content_id,
                               action="kzone.content.updated", before=_summary(current, changes),
                               after=_summary(row, changes))
    if row is None:
        raise _not_found(content_id)
    return row


async def delete_content(res: Resources, principal: Principal, content_id: uuid.UUID) -> None:
    """The media object stays (other content may use it)."""
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        current = await queries.content(session, content_id)
        deleted = await queries.delete_content(session, content_id)
        if deleted and current is not None:
            await record_audit(session, schema="kzone", actor=principal, zone_id=principal.zone_id,
                               org_id=org_of(principal), target_type="content", target_id=content_id,
                               action="kzone.content.deleted", before=_summary(current))
    if not deleted:
        raise _not_found(content_id)
