"""One client WebSocket on this replica: a bounded send queue drained by its own writer task.

Why a queue per connection: the hub fans a frame out to a thousand sockets from one task, so
handing a frame to a connection must never wait on that client's network. `deliver`/`send` are
plain functions that append to the queue; a client that falls `limit` frames behind is cut off
with 4408 slow_consumer (its queue dropped, the close sent by its own writer), never the room.

Resume without gaps or duplicates: a new connection starts *buffering* — live frames that arrive
while the endpoint sends the snapshot and the replay wait aside, then `end_resume(head)` lets
through only those with seq > the last one queued. Every sequenced frame passes one watermark,
so a frame is never sent twice, whichever path (replay, live, gap repair) brings it.

Per-connection state is kept small (`__slots__`, one deque, one task): the benchmark holds
2,200 sockets in one process.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from starlette.websockets import WebSocket, WebSocketDisconnect

from megacity.realtime.protocol import CLOSE_REASONS, CLOSE_SLOW_CONSUMER
from megacity.realtime.room_log import Room
from megacity.telemetry.logs import get_logger

log = get_logger("megacity.realtime")

DEFAULT_QUEUE_LIMIT = 512
CLOSE_TIMEOUT_SECONDS = 5.0

FRAMES_SENT = Counter("mc_realtime_frames_sent_total", "Frames written to WebSocket clients")
SLOW_CONSUMERS = Counter("mc_realtime_slow_consumer_disconnects_total",
                         "WebSocket clients closed with 4408 because their send queue overflowed")


@dataclass(slots=True)
class Peer:
    """Who is on the other end, as the app's `authenticate` decided: the room, the participant
    (None for staff without a seat), whether staff frames reach it, and an `extra` slot for the
    app (e.g. its participant row or principal)."""

    room: Room
    participant_id: str | None = None
    staff: bool = False
    extra: Any = None


class Connection:
    """A client's send side. Create it after `accept()`, `start()` it from the task that serves
    the socket, hand frames to `deliver` (room frames) or `send` (direct replies), `close(code)`
    to end after the queued frames, and `await finish()` before the ASGI handler returns."""

    __slots__ = ("websocket", "peer", "limit", "_queue", "_waiter", "_last_seq", "_buffer", "_close_code",
                 "_writer", "_owner", "_abandoned")

    def __init__(self, websocket: WebSocket, peer: Peer, *, limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.websocket = websocket
        self.peer = peer
        self.limit = limit
        self._queue: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._last_seq = 0
        # Live frames held while the snapshot and replay are sent: (seq, frame, close code).
        self._buffer: list[tuple[int, str, int | None]] | None = []
        self._close_code: int | None = None
        self._writer: asyncio.Task[None] | None = None
        self._owner: asyncio.Task[Any] | None = None
        self._abandoned = False

    # -- state ---------------------------------------------------------------------------------
    @property
    def closing(self) -> bool:
        """True once a close was requested (by the app, a `close` frame or an overflow)."""
        return self._close_code is not None

    @property
    def close_code(self) -> int | None:
        return self._close_code

    @property
    def last_seq(self) -> int:
        """The highest sequence number queued for this client (0 before any)."""
        return self._last_seq

    @property
    def abandoned(self) -> bool:
        """True when the close could not be sent in time and the serving task was cancelled."""
        return self._abandoned

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer task; the calling task (the ASGI handler) is cancelled if a close
        cannot be delivered within CLOSE_TIMEOUT_SECONDS (a client that stopped reading)."""
        self._owner = asyncio.current_task()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def finish(self, timeout: float = CLOSE_TIMEOUT_SECONDS + 1) -> None:
        """Wait for the writer to send what is queued and the close (if any), then stop it."""
        writer = self._writer
        if writer is None or writer.done():
            return
        if self._close_code is None:
            # The client went away (or the handler is ending without a close): nothing to flush.
            writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(writer), timeout)
        if not writer.done():
            writer.cancel()

    # -- frames --------------------------------------------------------------------------------
    def deliver(self, seq: int, frame: str, close: int | None = None) -> None:
        """Queue a room frame (never blocks). Frames with seq <= the last queued are dropped;
        while resuming, frames wait aside until `end_resume`. With `close`, the connection is
        closed with that code after this frame."""
        if self._close_code is not None:
            return
        buffer = self._buffer
        if buffer is not None:
            if len(buffer) >= self.limit:
                self._overflow()
            else:
                buffer.append((seq, frame, close))
            return
        self._deliver(seq, frame, close)

    def replay(self, seq: int, frame: str, close: int | None = None) -> None:
        """Queue a replayed room frame during resume (bypasses the resume buffer)."""
        if self._close_code is None:
            self._deliver(seq, frame, close)

    def _deliver(self, seq: int, frame: str, close: int | None) -> None:
        if seq <= self._last_seq:
            return
        self._last_seq = seq
        self._push(frame)
        if close is not None:
            self.close(close)

    def send(self, frame: str) -> None:
        """Queue a frame outside the room sequence (a direct reply, the snapshot; never blocks)."""
        if self._close_code is None:
            self._push(frame)

    def end_resume(self, head: int) -> None:
        """The snapshot (at `head`) and the replay are queued: from now on only frames with seq >
        max(head, last replayed) go out, first those that arrived meanwhile, in order."""
        buffer, self._buffer = self._buffer, None
        if head > self._last_seq:
            self._last_seq = head
        if buffer and self._close_code is None:
            for seq, frame, close in buffer:
                self._deliver(seq, frame, close)
                if self._close_code is not None:
                    break

    def close(self, code: int) -> None:
        """Close with `code` after the frames already queued; later frames are dropped."""
        if self._close_code is not None:
            return
        self._close_code = code
        self._wake()

    def _push(self, frame: str) -> None:
        if len(self._queue) >= self.limit:
            self._overflow()
            return
        self._queue.append(frame)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _overflow(self) -> None:
        """The client is `limit` frames behind: drop its queue and close it with 4408. The writer
        may be stuck in a send to this client, so it is cancelled and sends the close itself."""
        SLOW_CONSUMERS.inc()
        self._queue.clear()
        self._buffer = None
        self._close_code = CLOSE_SLOW_CONSUMER
        writer = self._writer
        if writer is not None and not writer.done():
            writer.cancel()

    # -- writer task ---------------------------------------------------------------------------
    async def _write_loop(self) -> None:
        queue, ws = self._queue, self.websocket
        try:
            while True:
                if queue:
                    await ws.send_text(queue.popleft())
                    FRAMES_SENT.inc()
                    continue
                if self._close_code is not None:
                    break
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
        except asyncio.CancelledError:
            if self._close_code != CLOSE_SLOW_CONSUMER:
                raise
            # cancelled by _overflow: go on to send the close
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        except (WebSocketDisconnect, OSError, RuntimeError):
            self._close_code = self._close_code or 1006
            self._queue.clear()
            return
        await self._send_close()

    async def _send_close(self) -> None:
        code = self._close_code or 1000
        try:
            await asyncio.wait_for(self.websocket.close(code, CLOSE_REASONS.get(code)), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            # The client stopped reading: stop serving it (the transport closes once flushed).
            self._abandoned = True
            owner = self._owner
            if owner is not None and not owner.done():
                owner.cancel()
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass
