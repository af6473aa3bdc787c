"""Response models of the leaderboards."""
from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict

_ROW: dict[str, Any] = {"rank": 1, "user_id": "2b5d8c1a-7f5e-4e0b-8c55-1d9e3f0a4b22", "nickname": "Swift Otter 4821",
        "avatar": "otter", "tier_points": 2051, "score": 2051.4}


class BoardRow(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ROW]})

    rank: int
    user_id: uuid.UUID
    nickname: str
    avatar: str
    tier_points: int
    # The board's measure: the Glicko-2 rating (all-time, category:<id>) or this week's XP (weekly).
    score: float


class BoardPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "board": "all-time", "size": 1234, "items": [_ROW], "next_cursor": "AVsiYWxsLXRpbWUiLDUwXQ..."}]})

    board: str
    size: int
    items: list[BoardRow]
    next_cursor: str | None


class MyRank(BaseModel):
    """Your rank (null while you are not on the board: for ratings, until RD <= 75 after 10 games)
    and your neighbours above and below."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "board": "weekly", "size": 310, "rank": 42, "score": 380.0, "items": [_ROW]}]})

    board: str
    size: int
    rank: int | None
    score: float | None
    items: list[BoardRow]
