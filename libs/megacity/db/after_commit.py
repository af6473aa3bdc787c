"""Run an async step once the current database transaction has committed.

What lives outside the database must not run ahead of it: kzone's job progress must not say
"succeeded" before the result row is committed, and arena's `rating_change` frames and
leaderboard scores must not announce a rating the transaction may still roll back. Handlers
queue such steps here instead of running them inside their transaction. A rolled-back
transaction runs nothing. Steps are best effort (the database is the truth; leaderboards are
rebuilt from it).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.telemetry.logs import get_logger

log = get_logger("megacity.after_commit")
_running: set[asyncio.Task[None]] = set()


def after_commit(session: AsyncSession, step: Callable[[], Awaitable[None]], what: str) -> None:
    loop = asyncio.get_running_loop()

    async def _run() -> None:
        try:
            await step()
        except Exception:  # noqa: BLE001 - the DB is the truth; progress is best effort
            log.exception("after-commit step failed", step=what)

    def _fire(_session: object) -> None:
        task = loop.create_task(_run(), name=f"after-commit {what}")
        _running.add(task)
        task.add_done_callback(_running.discard)

    event.listen(session.sync_session, "after_commit", _fire, once=True)


async def drain(timeout: float = 5.0) -> None:
    """Wait for queued after-commit steps (on shutdown, before Redis closes)."""
    if _running:
        await asyncio.wait(list(_running), timeout=timeout)
