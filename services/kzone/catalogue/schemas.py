"""Request and response models of the catalogue."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ContentType = Literal["video", "audio", "image", "article"]

EXAMPLE: dict[str, Any] = {"id": "3f1c2b7e-8a4d-4c1e-9b2a-5d6e7f809a1b", "title": "BTS Dynamite — choreography breakdown",
           "type": "video", "url": None, "media_id": "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d",
           "media_url": "https://api.my-ktube.com/api/v1/kzone/objects/kzone/video/0a9b8c7d-6e5f-4a3b-9c2d-"
                        "1e0f9a8b7c6d/original.mp4?expires=1767225600&signature=…",
           "description": "Step-by-step chorus moves.", "tags": ["kpop", "dance"],
           "created_by": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "created_at": "2026-11-27T12:00:00Z",
           "updated_at": "2026-11-27T12:00:00Z"}


def clean_tags(tags: list[str] | None) -> list[str] | None:
    """Tags as stored and searched: whitespace collapsed, lower case, 1-40 characters each, no
    repeats, at most 20 (ValueError otherwise)."""
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

    _tags = field_validator("tags")(lambda cls, v: clean_tags(v))


class ContentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Dynamite (slow)",
                                                                               "tags": ["kpop", "slow"]}]})

    title: str | None = Field(default=None, min_length=1, max_length=300)
    type: ContentType | None = None
    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    media_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=5000)
    tags: list[str] | None = None

    _tags = field_validator("tags")(lambda cls, v: clean_tags(v))


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
