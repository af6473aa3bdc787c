"""Run an async step once the current database transaction has committed.

Progress in Redis must not say "succeeded" before the result row is committed (a client that
sees it calls the DB-backed detail endpoint once and stops polling), so event handlers queue
`JobProgress.finish` here instead of calling it inside their transaction. A rolled-back
transaction runs nothing.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.telemetry.logs import get_logger

log = get_logger("kzone.after_commit")
_running: set[asyncio.Task] = set()


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
