"""SQL of an org's moderation words (`classroom.moderation_words`, PK (zone_id, org_id, word))."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_COLUMNS = "word, lang, kind, created_by, created_at"


@dataclass(frozen=True)
class WordRow:
    word: str
    lang: str
    kind: str
    created_by: uuid.UUID | None
    created_at: dt.datetime


async def list_words(s: AsyncSession, zone_id: int, org_id: uuid.UUID) -> list[WordRow]:
    rows = (await s.execute(text(f"SELECT {_COLUMNS} FROM classroom.moderation_words"
                                 " WHERE zone_id = :z AND org_id = :o ORDER BY word"),
                            {"z": zone_id, "o": org_id})).all()
    return [WordRow(**r._mapping) for r in rows]


async def upsert_word(s: AsyncSession, zone_id: int, org_id: uuid.UUID, word: str, lang: str, kind: str,
                      created_by: uuid.UUID | None) -> tuple[WordRow, bool]:
    """Insert or change the word; the row and whether it is new."""
    row = (await s.execute(text(
        "INSERT INTO classroom.moderation_words (zone_id, org_id, word, lang, kind, created_by)"
        " VALUES (:z, :o, :w, :lang, :kind, :by)"
        " ON CONFLICT (zone_id, org_id, word) DO UPDATE SET lang = EXCLUDED.lang, kind = EXCLUDED.kind"
        f" RETURNING {_COLUMNS}, (xmax = 0) AS created"),
        {"z": zone_id, "o": org_id, "w": word, "lang": lang, "kind": kind, "by": created_by})).one()
    values = dict(row._mapping)
    created = bool(values.pop("created"))
    return WordRow(**values), created


async def delete_word(s: AsyncSession, zone_id: int, org_id: uuid.UUID, word: str) -> bool:
    result = await s.execute(text("DELETE FROM classroom.moderation_words WHERE zone_id = :z AND org_id = :o"
                                  " AND word = :w RETURNING 1"), {"z": zone_id, "o": org_id, "w": word})
    return result.first() is not None
