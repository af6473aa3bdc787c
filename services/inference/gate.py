"""The hard concurrency limit of one model: at most `limit` calls run, at most `max_queue` wait.

A call beyond both is refused at once with 429 `inference.busy` (gRPC RESOURCE_EXHAUSTED). A
caller waits at most until its deadline. Model work runs in this gate's own thread pool (one
thread per slot), off the event loop; a call that is cancelled (client gone, deadline passed,
service draining) sets its `CancelToken`, which the model checks between tokens, segments or
frames, and the slot is given back once the thread has really stopped, so the limit holds for
the hardware, not just for the bookkeeping.

Queued jobs from JetStream take slots of the same gate but are never refused (`bounded=False`):
they already wait in JetStream, and their consumer fetches no more than the limit.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from megacity.errors import AppError
from megacity.telemetry.logs import get_logger
from services.inference import metrics

log = get_logger("inference.gate")
T = TypeVar("T")

# How long a cancelled call waits for its thread to notice before giving the slot back anyway.
CANCEL_GRACE_SECONDS = 30.0


class Cancelled(Exception):
    """Raised inside model code when its CancelToken was set."""


class CancelToken:
    """Set from the event loop, checked by model code running in a worker thread."""

    def __init__(self, deadline: float | None = None) -> None:
        self._event = threading.Event()
        self.deadline = deadline  # time.monotonic() value, or None
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = self.reason or reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        if not self._event.is_set() and self.deadline is not None and time.monotonic() >= self.deadline:
            self.cancel("deadline")
        return self._event.is_set()

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled(self.reason)


def busy(model: str) -> AppError:
    return AppError(429, "inference.busy", f"the {model} model is at its concurrency limit and its queue is full; "
                                           "retry with backoff")


def deadline_exceeded(model: str) -> AppError:
    return AppError(504, "inference.deadline_exceeded", f"the deadline passed before the {model} model finished")


class ModelGate:
    def __init__(self, model: str, limit: int, max_queue: int) -> None:
        if limit < 1 or max_queue < 0:
            raise ValueError("a model needs limit >= 1 and max_queue >= 0")
        self.model = model
        self.limit = limit
        self.max_queue = max_queue
        self._sem = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.waiting = 0
        self.executor = ThreadPoolExecutor(max_workers=limit, thread_name_prefix=f"model-{model}")
        metrics.CONCURRENCY_LIMIT.labels(model).set(limit)
        self._publish()

    def _publish(self) -> None:
        metrics.IN_FLIGHT.labels(self.model).set(self.in_flight)
        metrics.QUEUE_DEPTH.labels(self.model).set(self.waiting)

    @contextlib.asynccontextmanager
    async def slot(self, timeout: float | None = None, *, bounded: bool = True) -> AsyncIterator[None]:
        """Hold one of the model's slots. `timeout`: seconds to wait for one (the caller's deadline)."""
        if bounded and self._sem.locked() and self.waiting >= self.max_queue:
            metrics.REJECTED.labels(self.model, "busy").inc()
            raise busy(self.model)
        if timeout is not None and timeout <= 0:
            metrics.REJECTED.labels(self.model, "deadline").inc()
            raise deadline_exceeded(self.model)
        started = time.perf_counter()
        self.waiting += 1
        self._publish()
        try:
            async with asyncio.timeout(timeout):
                await self._sem.acquire()
        except TimeoutError:
            metrics.REJECTED.labels(self.model, "deadline").inc()
            raise deadline_exceeded(self.model) from None
        except asyncio.CancelledError:
            metrics.REJECTED.labels(self.model, "cancelled").inc()
            raise
        finally:
            self.waiting -= 1
            self._publish()
        metrics.QUEUE_WAIT.labels(self.model).observe(time.perf_counter() - started)
        self.in_flight += 1
        self._publish()
        try:
            yield
        finally:
            self.in_flight -= 1
            self._sem.release()
            self._publish()

    async def run(self, fn: Callable[..., T], *args: object, token: CancelToken) -> T:
        """Run `fn(*args)` in this model's thread pool (call it inside `slot()`). If the awaiting
        task is cancelled, set `token` and wait (bounded) for the thread before re-raising, so
        the slot is released only when the model has stopped."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            token.cancel("cancelled")
            metrics.REJECTED.labels(self.model, "cancelled").inc()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(future), CANCEL_GRACE_SECONDS)
            raise

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def time_left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()
