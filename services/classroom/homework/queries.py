"""SQL of homework: resolving a homework code anonymously (role `guest` with `app.session_code`,
the `code_lookup` policy matches `code` or `homework_code`) and counting a session's cards."""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.classroom.sessions.queries import COLUMNS, SessionRow


async def by_homework_code(s: AsyncSession, code: str) -> SessionRow | None:
    """The session whose open homework has this code (the unique index allows one)."""
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM classroom.sessions WHERE homework_code = :c"),
                         {"c": code})).first()
    return SessionRow(**r._mapping) if r else None


async def card_count(s: AsyncSession, session_id: uuid.UUID) -> int:
    return int((await s.execute(text("SELECT count(*) FROM classroom.session_cards WHERE session_id = :sid"),
                                {"sid": session_id})).scalar_one())
