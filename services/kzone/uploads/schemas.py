"""Response model of an uploaded media file."""
from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


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
