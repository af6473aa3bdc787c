"""Uploaded media: recorded once its object is committed to storage (`upload_stream` received
it); content media is visible to the whole org, AI-job input media only to its owner and staff."""
from __future__ import annotations

import uuid

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.kzone.permissions import org_of, sees_owned
from services.kzone.upload_stream import StoredMedia
from services.kzone.uploads import queries
from services.kzone.uploads.queries import MediaRow

# What `POST /api/v1/kzone/uploads` accepts.
CONTENT_KINDS = frozenset({"audio", "video", "image"})


async def record_content_media(res: Resources, principal: Principal, media: StoredMedia) -> MediaRow:
    """The row of an uploaded content file (its object is committed); the caller keeps the object
    only when this succeeds."""
    org = org_of(principal)
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        created = await queries.insert_media(session, media, zone_id=principal.zone_id, org_id=org,
                                             owner_id=principal.user_id, purpose="content")
    return MediaRow(id=media.media_id, owner_id=principal.user_id, purpose="content", media_kind=media.kind,
                    content_type=media.content_type, size_bytes=media.size, sha256=media.sha256,
                    storage_key=media.key, original_filename=media.filename, created_at=created)


async def get_media(res: Resources, principal: Principal, media_id: uuid.UUID) -> MediaRow:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        row = await queries.media(session, media_id)
    if row is None or (row.purpose != "content" and not sees_owned(principal, row.owner_id)):
        raise AppError(404, "media.not_found", f"no media {media_id} in your org")
    return row
