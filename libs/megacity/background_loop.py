"""A pass repeated in the background of a service process (the email senders of auth and tenant):
the loop, its task and its error handling written once, the pass left to each service."""
from __future__ import annotations

import asyncio

from structlog.stdlib import BoundLogger


class BackgroundLoop:
    """`run_once()` (the subclass's pass) again `poll_seconds` after each pass ends, in a task of
    its own: `start()` on service start, `close()` on stop (cancels a pass midway, so a pass must
    be safe to redo). A failed pass is logged on `log` and retried at the next poll: a database
    hiccup must not end the loop."""

    def __init__(self, name: str, log: BoundLogger, poll_seconds: float) -> None:
        self.name, self.log, self.poll_seconds = name, log, poll_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name.replace(" ", "-"))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                self.log.warning(f"{self.name}: pass failed; retrying", exc_info=True)
            await asyncio.sleep(self.poll_seconds)

    async def run_once(self) -> int:
        """One pass; returns how much it did."""
        raise NotImplementedError
