"""SQL of chat messages (monthly partitions by created_at; RLS by org)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = "id, session_id, participant_id, author, body, status, moderated, reason, created_at"


@dataclass(frozen=True)
class MessageRow:
    id: uuid.UUID
    session_id: uuid.UUID
    participant_id: uuid.UUID | None
    author: str
    body: str
    status: str
    moderated: bool
    reason: str | None
    created_at: dt.datetime


def _row(r: Any) -> MessageRow:
    return MessageRow(**r._mapping)


async def insert(s: AsyncSession, values: dict[str, Any]) -> MessageRow:
    cols = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    r = (await s.execute(text(f"INSERT INTO classroom.messages ({cols}) VALUES ({params}) RETURNING {COLUMNS}"),
                         values)).one()
    return _row(r)


async def latest(s: AsyncSession, session_id: uuid.UUID, *, statuses: tuple[str, ...], limit: int,
                 before: dt.datetime | None = None) -> list[MessageRow]:
    """Newest last; `idx_messages_session_time` serves it."""
    rows = await s.execute(text(
        f"SELECT {COLUMNS} FROM classroom.messages WHERE session_id = :sid AND status = ANY(:st)"
        " AND (CAST(:before AS timestamptz) IS NULL OR created_at < :before)"
        " ORDER BY created_at DESC LIMIT :n"), {"sid": session_id, "st": list(statuses), "n": limit, "before": before})
    return [_row(r) for r in rows][::-1]


async def avatars(s: AsyncSession, participant_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The avatars of message authors (a message keeps its author's nickname, not the avatar)."""
    if not participant_ids:
        return {}
    rows = await s.execute(text("SELECT id, avatar FROM classroom.participants WHERE id = ANY(:ids)"),
                           {"ids": participant_ids})
    return {r.id: r.avatar for r in rows}


async def set_status(s: AsyncSession, session_id: uuid.UUID, message_id: uuid.UUID, status: str,
                     moderated: bool) -> tuple[MessageRow, str] | None:
    """Change one message's status; returns (row after, status before)."""
    before = (await s.execute(text("SELECT status FROM classroom.messages WHERE id = :id AND session_id = :sid"
                                   " FOR UPDATE"), {"id": message_id, "sid": session_id})).first()
    if before is None:
        return None
    r = (await s.execute(text(f"UPDATE classroom.messages SET status = :st, moderated = :m WHERE id = :id"
                              f" AND session_id = :sid RETURNING {COLUMNS}"),
                         {"st": status, "m": moderated, "id": message_id, "sid": session_id})).one()
    return _row(r), str(before.status)
