"""Request/response models of /api/v1/classroom/moderation (an org's own word lists)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

_EXAMPLE: dict[str, Any] = {"word": "멍청이", "lang": "ko", "kind": "block",
                            "created_by": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "created_at": "2026-03-02T08:00:00Z"}


class WordIn(BaseModel):
    """How the word is matched: 'ko' anywhere in Korean text (spacing, digits and split jamo
    undone), 'en' as a whole English token (leetspeak, repeats and punctuation undone), 'any'
    anywhere in a token of the word's own script. 'allow' cuts the word out before matching,
    for words the built-in lists would wrongly block."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"lang": "ko", "kind": "block"},
                                                                              {"lang": "en", "kind": "allow"}]})

    lang: Literal["ko", "en", "any"] = "any"
    kind: Literal["block", "allow"] = "block"


class WordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    word: str
    lang: Literal["ko", "en", "any"]
    kind: Literal["block", "allow"]
    created_by: uuid.UUID | None
    created_at: dt.datetime


class WordList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[WordOut]
