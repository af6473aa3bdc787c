"""Request and response models of arena players and tiers."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_TIER: dict[str, Any] = {"id": 3, "name": "Gold", "min_points": 1400, "max_points": 1599, "icon": "tiers/gold.svg"}
_RATING: dict[str, Any] = {"topic": "", "rating": 1512, "rd": 87.4, "games": 14, "provisional": False, "display": "1512"}


class TierOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TIER]})

    id: int
    name: str
    min_points: int
    max_points: int
    icon: str


class TierList(BaseModel):
    items: list[TierOut]


class RatingOut(BaseModel):
    """One Glicko-2 rating: topic '' is the overall ranked rating, else a category id.
    Provisional (shown "1500?") while the deviation is 110 or more."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RATING]})

    topic: str
    rating: int
    rd: float
    games: int
    provisional: bool
    display: str


class PlayerOut(BaseModel):
    """What every player of the zone may see of another."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "user_id": "2b5d8c1a-7f5e-4e0b-8c55-1d9e3f0a4b22", "nickname": "Swift Otter 4821", "avatar": "otter",
        "tier": _TIER, "tier_points": 1512, "wins": 9, "losses": 4, "draws": 1, "ratings": [_RATING]}]})

    user_id: uuid.UUID
    nickname: str
    avatar: str
    tier: TierOut
    tier_points: int
    wins: int
    losses: int
    draws: int
    ratings: list[RatingOut]


class MeOut(PlayerOut):
    """The caller's own profile: the public view plus experience and history."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "user_id": "2b5d8c1a-7f5e-4e0b-8c55-1d9e3f0a4b22", "nickname": "Swift Otter 4821", "avatar": "otter",
        "tier": _TIER, "tier_points": 1512, "wins": 9, "losses": 4, "draws": 1, "ratings": [_RATING], "xp": 930,
        "created_at": "2026-12-01T08:00:00Z", "last_played_at": "2026-12-07T09:12:00Z"}]})

    xp: int
    created_at: dt.datetime
    last_played_at: dt.datetime | None


class MePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"nickname": "Mina"},
                                                                              {"avatar": "fox"}]})

    # 2-20 letters, digits, spaces, '_', '-', '.'; unique in the zone ignoring case and width.
    nickname: str | None = Field(None, max_length=80)
    avatar: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")
