"""SQL of uploaded media (`kzone.kzone_media`); AI jobs record their input media here too."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.kzone.upload_stream import StoredMedia


@dataclass(frozen=True)
class MediaRow:
    id: uuid.UUID
    owner_id: uuid.UUID
    purpose: str  # content | ai_input
    media_kind: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    original_filename: str | None
    created_at: dt.datetime


async def insert_media(session: AsyncSession, media: StoredMedia, *, zone_id: int, org_id: uuid.UUID,
                       owner_id: uuid.UUID, purpose: str) -> dt.datetime:
    """The row of a stored media file; its `created_at`."""
    return (await session.execute(text(
        "INSERT INTO kzone.kzone_media (id, zone_id, org_id, owner_id, purpose, media_kind, content_type, size_bytes,"
        " sha256, storage_key, original_filename) VALUES (:id, :zone, :org, :owner, :purpose, :kind, :ctype, :size,"
        " :sha, :key, :filename) RETURNING created_at"),
        {"id": media.media_id, "zone": zone_id, "org": org_id, "owner": owner_id, "purpose": purpose,
         "kind": media.kind, "ctype": media.content_type, "size": media.size, "sha": media.sha256, "key": media.key,
         "filename": media.filename})).scalar_one()


async def media(session: AsyncSession, media_id: uuid.UUID) -> MediaRow | None:
    row = (await session.execute(text(
        "SELECT id, owner_id, purpose, media_kind, content_type, size_bytes, sha256, storage_key,"
        " original_filename, created_at FROM kzone.kzone_media WHERE id = :id"), {"id": media_id})).first()
    return MediaRow(**row._mapping) if row is not None else None
