"""SQL of the catalogue (`kzone.kzone_contents`, with its media's storage key from
`kzone.kzone_media`). RLS decides which rows exist for the caller."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_COLUMNS = ("id", "title", "type", "url", "media_id", "description", "tags", "created_by", "created_at",
            "updated_at")
_SELECT = (f"SELECT {', '.join('c.' + c for c in _COLUMNS)}, m.storage_key"
           " FROM kzone.kzone_contents c LEFT JOIN kzone.kzone_media m ON m.id = c.media_id")
# The columns a patch may set.
UPDATABLE = frozenset({"title", "type", "url", "media_id", "description", "tags"})


@dataclass(frozen=True)
class ContentRow:
    id: uuid.UUID
    title: str
    type: str
    url: str | None
    media_id: uuid.UUID | None
    description: str | None
    tags: list[str]
    created_by: uuid.UUID
    created_at: dt.datetime
    updated_at: dt.datetime
    storage_key: str | None  # the media's object key, when it has media


@dataclass(frozen=True)
class SearchFilter:
    title_like: str | None  # an ILIKE pattern (escaped with backslash)
    tags: list[str] | None  # all must be present
    type: str | None
    after: tuple[dt.datetime, uuid.UUID] | None  # keyset: (created_at, id) of the previous page's last row
    limit: int


def _content(row: Any) -> ContentRow:
    return ContentRow(**row._mapping)


def like_pattern(term: str) -> str:
    """`term` anywhere, with LIKE's wildcards taken literally."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def media_key(session: AsyncSession, media_id: uuid.UUID) -> str | None:
    """The storage key of an uploaded media object of the caller's org."""
    return (await session.execute(text("SELECT storage_key FROM kzone.kzone_media WHERE id = :id"),
                                  {"id": media_id})).scalar()


async def insert_content(session: AsyncSession, *, zone_id: int, org_id: uuid.UUID, created_by: uuid.UUID,
                         title: str, type: str, url: str | None, media_id: uuid.UUID | None,
                         description: str | None, tags: list[str], storage_key: str | None) -> ContentRow:
    row = (await session.execute(text(
        "INSERT INTO kzone.kzone_contents (zone_id, org_id, title, type, url, media_id, description, tags,"
        " created_by) VALUES (:zone, :org, :title, :type, :url, :media, :description, :tags, :by)"
        f" RETURNING {', '.join(_COLUMNS)}"),
        {"zone": zone_id, "org": org_id, "title": title, "type": type, "url": url, "media": media_id,
         "description": description, "tags": tags, "by": created_by})).one()
    return ContentRow(**row._mapping, storage_key=storage_key)


async def search(session: AsyncSession, f: SearchFilter) -> list[ContentRow]:
    """Newest first (created_at DESC, id DESC), up to `f.limit` rows."""
    where = ["TRUE"]
    params: dict[str, Any] = {"limit": f.limit}
    if f.title_like is not None:
        where.append("c.title ILIKE :q ESCAPE '\\'")
        params["q"] = f.title_like
    if f.tags:
        where.append("c.tags @> CAST(:tags AS text[])")
        params["tags"] = f.tags
    if f.type:
        where.append("c.type = :type")
        params["type"] = f.type
    if f.after:
        params["c_at"], params["c_id"] = f.after
        where.append("(c.created_at, c.id) < (:c_at, :c_id)")
    rows = (await session.execute(text(
        f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY c.created_at DESC, c.id DESC LIMIT :limit"), params)).all()
    return [_content(r) for r in rows]


async def content(session: AsyncSession, content_id: uuid.UUID, *, lock: bool = False) -> ContentRow | None:
    row = (await session.execute(text(f"{_SELECT} WHERE c.id = :id" + (" FOR UPDATE OF c" if lock else "")),
                                 {"id": content_id})).first()
    return _content(row) if row is not None else None


async def update_content(session: AsyncSession, content_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """Set the given columns (names from UPDATABLE only) and `updated_at`."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    await session.execute(text(f"UPDATE kzone.kzone_contents SET {sets}, updated_at = now() WHERE id = :id"),
                          {**changes, "id": content_id})


async def delete_content(session: AsyncSession, content_id: uuid.UUID) -> bool:
    deleted = (await session.execute(text("DELETE FROM kzone.kzone_contents WHERE id = :id RETURNING id"),
                                     {"id": content_id})).first()
    return deleted is not None
