"""Group commit of answers: every answer is stored before it is acknowledged, but a class
answering at once shares transactions — answers that arrive while one batch commits go together
in the next (one multi-row INSERT per org, with their `classroom.answer.recorded` outbox rows).
300–1,000 answers in a second cost a handful of commits instead of one each, and the unique key
(session, card, participant) makes a second answer a no-op rather than a read-modify-write."""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy.exc
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.db import TenantContext, tenant_transaction
from megacity.events.outbox import add_events
from services.classroom.cards.queries import AnswerRow, insert_answers

BATCH_SIZE = Histogram("mc_classroom_answer_batch_size", "Answers stored per group commit",
                       buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000))


def _event(r: AnswerRow) -> dict[str, Any]:
    return {"session_id": str(r.session_id), "card_no": r.card_no, "participant_id": str(r.participant_id),
            "correct": r.correct, "points": r.points, "elapsed_ms": r.elapsed_ms, "mode": r.mode,
            "answered_at": r.answered_at.isoformat()}


class AnswerWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = 500) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._pending: list[tuple[AnswerRow, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, row: AnswerRow) -> bool:
        """Store one answer; True when stored, False when the participant had already answered."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((row, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="classroom-answer-writer")
        return await fut

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the answers of this loop iteration join the first batch
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
            BATCH_SIZE.observe(len(batch))
            groups: dict[tuple[int, uuid.UUID], list[tuple[AnswerRow, asyncio.Future[bool]]]] = defaultdict(list)
            for item in batch:
                groups[(item[0].zone_id, item[0].org_id)].append(item)
            await asyncio.gather(*(self._commit(zone, org, items) for (zone, org), items in groups.items()))

    async def _commit(self, zone_id: int, org_id: uuid.UUID, items: list[tuple[AnswerRow, asyncio.Future[bool]]]) -> None:
        first: dict[tuple[uuid.UUID, int], tuple[AnswerRow, asyncio.Future[bool]]] = {}
        for r, fut in items:  # the same participant twice in one batch: the first one counts
            if (r.participant_id, r.card_no) in first:
                fut.set_result(False)
            else:
                first[(r.participant_id, r.card_no)] = (r, fut)
        items = list(first.values())
        try:
            stored = await self._insert(zone_id, org_id, [r for r, _ in items])
        except sqlalchemy.exc.DBAPIError as exc:
            if len(items) == 1 or exc.connection_invalidated or isinstance(exc, sqlalchemy.exc.OperationalError):
                self._fail(items, exc)
                return
            # One row the database refuses must not sink the class's other answers: each on its own.
            await asyncio.gather(*(self._commit(zone_id, org_id, [item]) for item in items))
            return
        except Exception as exc:  # noqa: BLE001 - every waiter learns of the failure
            self._fail(items, exc)
            return
        for r, fut in items:
            if not fut.done():
                fut.set_result((r.participant_id, r.card_no) in stored)

    async def _insert(self, zone_id: int, org_id: uuid.UUID, rows: list[AnswerRow]) -> set[tuple[uuid.UUID, int]]:
        async with tenant_transaction(self.sessions, TenantContext(zone_id=zone_id, org_id=org_id, role="guest")) as s:
            stored = set(await insert_answers(s, rows))
            await add_events(s, "classroom", "classroom.answer.recorded",
                             [_event(r) for r in rows if (r.participant_id, r.card_no) in stored],
                             zone_id=zone_id, org_id=org_id)
        return stored

    @staticmethod
    def _fail(items: list[tuple[AnswerRow, asyncio.Future[bool]]], exc: BaseException) -> None:
        for _, fut in items:
            if not fut.done():
                fut.set_exception(exc)
