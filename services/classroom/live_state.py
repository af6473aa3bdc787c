"""A running session's state in Redis, read on every live message so no replica asks the database
on the hot path: the session's settings (`state`), the card on show (`card`, with the expected
answer, never sent to clients), tallies per card, the leaderboard (`board`) and nicknames.
Written after the database commits (the database stays the truth; Redis is rebuilt from it
when a key has gone, `ensure_state`). Keys live under the room's tenant namespace and expire a
day after the last write."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from megacity.realtime.room_log import Room
from megacity.redis_keys import RedisKeys

KIND = "classroom"
TTL_SECONDS = 86_400


def room_of(zone_id: int, org_id: uuid.UUID, session_id: uuid.UUID) -> Room:
    return Room(zone_id=zone_id, org_id=org_id, kind=KIND, id=session_id)


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


@dataclass(frozen=True)
class LiveSettings:
    """What the live path needs of the session row."""

    status: str
    expires_ms: int
    scoring: str
    chat_mode: str
    slow_mode_seconds: int
    locked: bool

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> LiveSettings:
        return cls(status=h["status"], expires_ms=int(h["expires_ms"]), scoring=h["scoring"],
                   chat_mode=h["chat_mode"], slow_mode_seconds=int(h["slow_mode_seconds"]), locked=h["locked"] == "1")


@dataclass(frozen=True)
class LiveCard:
    """The card on show: server-stamped times (ms) and the expected answer."""

    card_no: int
    problem_id: str
    type: str
    shown_ms: int
    closes_ms: int
    expected: str
    choices: list[str] | None
    closed: bool

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> LiveCard:
        return cls(card_no=int(h["card_no"]), problem_id=h["problem_id"], type=h["type"], shown_ms=int(h["shown_ms"]),
                   closes_ms=int(h["closes_ms"]), expected=h["expected"],
                   choices=json.loads(h["choices"]) if h.get("choices") else None, closed=h.get("closed") == "1")


class LiveKeys:
    """Every Redis key of one session."""

    def __init__(self, keys: RedisKeys, room: Room) -> None:
        self.room = room
        self.state = room.key(keys, "state")
        self.card = room.key(keys, "card")
        self.board = room.key(keys, "board")
        self.names = room.key(keys, "names")
        self.muted = room.key(keys, "muted")
        self.tally_flag = room.key(keys, "tally-pending")

    def tally(self, card_no: int) -> str:
        return f"{self.card}:{card_no}:tally"



def settings_hash(row: Any) -> dict[str, str]:
    """The `state` hash of a session row (sessions.queries.SessionRow)."""
    return {"status": row.status, "expires_ms": str(ms(row.expires_at)), "scoring": row.scoring,
            "chat_mode": row.chat_mode, "slow_mode_seconds": str(row.slow_mode_seconds),
            "locked": "1" if row.locked else "0"}


async def read_settings(redis: Any, lk: LiveKeys) -> LiveSettings | None:
    h = await redis.hgetall(lk.state)
    return LiveSettings.from_hash(h) if h else None
