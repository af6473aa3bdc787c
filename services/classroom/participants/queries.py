"""SQL of a session's participants (tenant transaction; RLS by org)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = ("id, zone_id, org_id, session_id, nickname, nickname_key, avatar, status, muted, extra_time_seconds, mode,"
           " joined_at, last_seen_at")
CHANGEABLE = ("status", "muted", "extra_time_seconds", "last_seen_at")


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID
    session_id: uuid.UUID
    nickname: str
    nickname_key: str
    avatar: str
    status: str
    muted: bool
    extra_time_seconds: int
    mode: str
    joined_at: dt.datetime
    last_seen_at: dt.datetime


def _row(r: Any) -> ParticipantRow:
    return ParticipantRow(**r._mapping)


async def insert(s: AsyncSession, values: dict[str, Any]) -> ParticipantRow:
    cols = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    r = (await s.execute(text(f"INSERT INTO classroom.participants ({cols}) VALUES ({params}) RETURNING {COLUMNS}"),
                         values)).one()
    return _row(r)


async def get(s: AsyncSession, participant_id: uuid.UUID, *, lock: bool = False) -> ParticipantRow | None:
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM classroom.participants WHERE id = :id"
                              + (" FOR UPDATE" if lock else "")), {"id": participant_id})).first()
    return _row(r) if r else None


async def by_nickname(s: AsyncSession, session_id: uuid.UUID, key: str) -> ParticipantRow | None:
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM classroom.participants"
                              " WHERE session_id = :sid AND nickname_key = :k"), {"sid": session_id, "k": key})).first()
    return _row(r) if r else None


async def of_session(s: AsyncSession, session_id: uuid.UUID) -> list[ParticipantRow]:
    rows = await s.execute(text(f"SELECT {COLUMNS} FROM classroom.participants WHERE session_id = :sid"
                                " ORDER BY joined_at"), {"sid": session_id})
    return [_row(r) for r in rows]


async def update(s: AsyncSession, participant_id: uuid.UUID, values: dict[str, Any]) -> ParticipantRow:
    assert values and all(k in CHANGEABLE for k in values), values
    sets = ", ".join(f"{k} = :{k}" for k in values)
    r = (await s.execute(text(f"UPDATE classroom.participants SET {sets} WHERE id = :id RETURNING {COLUMNS}"),
                         {**values, "id": participant_id})).one()
    return _row(r)
