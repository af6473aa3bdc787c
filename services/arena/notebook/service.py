"""The wrong-answer notebook (`user_problem_banks`): personal (RLS by user), per zone.

- Wrong answers arrive from the match engine through `record_wrong`, inside its finishing
  transaction (any tenant context the notebook policy admits: the player's, or a zone-admin
  worker's); a later free-text grade updates the feedback through `set_feedback`.
- A player bookmarks any question it can see (PUT) and removes an entry (DELETE). The right
  answer and explanation show only once the player has played the question (or to staff).
- `practice_question_ids` picks the questions of a practice match: most-missed first.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.arena.notebook import queries
from services.arena.notebook.queries import EntryRow
from services.arena.permissions import QUESTION_READ
from services.arena.questions.access import context, not_found
from services.arena.questions.service import one_question

NOTEBOOK_KEYSET = Keyset("arena.notebook", updated_at=dt.datetime, question_id=uuid.UUID)


@dataclass(frozen=True)
class Page:
    items: list[EntryRow]
    next_cursor: str | None


async def list_entries(res: Resources, principal: Principal, *, bookmarked: bool | None, cursor: str | None,
                       limit: int) -> Page:
    after = NOTEBOOK_KEYSET.decode(cursor, res.settings.secret_key)
    async with tenant_transaction(res.db(), context(principal)) as s:
        rows = await queries.list_entries(s, principal.zone_id, principal.user_id, principal.can(QUESTION_READ),
                                          bookmarked, after, limit + 1)
    items, nxt = NOTEBOOK_KEYSET.page(rows, limit, res.settings.secret_key)
    return Page(items, nxt)


async def bookmark(res: Resources, principal: Principal, question_id: uuid.UUID) -> EntryRow:
    async with tenant_transaction(res.db(), context(principal)) as s:
        await one_question(s, principal.zone_id, question_id)  # visible, else 404
        await queries.bookmark(s, principal.zone_id, principal.user_id, question_id)
        entry = await queries.get_entry(s, principal.zone_id, principal.user_id, question_id,
                                        principal.can(QUESTION_READ))
    assert entry is not None, "written in this transaction"
    return entry


async def remove(res: Resources, principal: Principal, question_id: uuid.UUID) -> None:
    async with tenant_transaction(res.db(), context(principal)) as s:
        if not await queries.delete_entry(s, principal.zone_id, principal.user_id, question_id):
            raise not_found("notebook entry", question_id)


async def record_wrong(session: AsyncSession, zone_id: int, user_id: uuid.UUID, question_id: uuid.UUID,
                       match_id: uuid.UUID | None, answer: str, feedback: str = "") -> None:
    """Count a wrong answer in the player's notebook (in the caller's transaction)."""
    await queries.record_wrong(session, zone_id, user_id, question_id, match_id, answer, feedback)


async def set_feedback(session: AsyncSession, zone_id: int, user_id: uuid.UUID, question_id: uuid.UUID,
                       match_id: uuid.UUID, feedback: str) -> bool:
    """The grader's feedback on the wrong answer of that match, once it arrives; False when the
    entry has moved on (a later match) or is gone."""
    return await queries.set_feedback(session, zone_id, user_id, question_id, match_id, feedback)


async def practice_question_ids(session: AsyncSession, zone_id: int, user_id: uuid.UUID, n: int) -> list[uuid.UUID]:
    """Up to `n` notebook questions for a practice match (in the caller's transaction)."""
    return await queries.practice_ids(session, zone_id, user_id, n)
