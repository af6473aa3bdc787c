"""Response models of weekly leagues."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

_ROW: dict[str, Any] = {"rank": 1, "user_id": "2b5d8c1a-7f5e-4e0b-8c55-1d9e3f0a4b22", "nickname": "Swift Otter 4821",
        "avatar": "otter", "xp": 420, "zone": "promotion"}


class LeagueRow(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ROW]})

    rank: int
    user_id: uuid.UUID
    nickname: str
    avatar: str
    xp: int
    # Where this standing ends the week if nothing changes.
    zone: Literal["promotion", "safe", "demotion"]


class LeagueOut(BaseModel):
    """Your league this week. `placed` is false until you earn XP this week (then you join a group
    of about 30 in `league`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "week_start": "2026-12-07", "ends_at": "2026-12-14T00:00:00Z", "league": 2, "league_name": "Gold",
        "placed": True, "group_no": 4, "xp": 420, "rank": 1, "promote": 7, "demote": 5, "members": [_ROW]}]})

    week_start: dt.date
    ends_at: dt.datetime
    league: int
    league_name: str
    placed: bool
    group_no: int | None
    xp: int
    rank: int | None
    promote: int
    demote: int
    members: list[LeagueRow]
