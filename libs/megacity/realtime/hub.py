"""The process-wide fan-out point: one Redis pub/sub connection per replica, shared by every room.

A room's channel is subscribed while at least one local connection is in the room and dropped
when the last leaves, so a replica only receives the rooms it serves. Each pub/sub message is
routed on its small header (seq, audience, close code) to the matching local connections; the
frame text itself is handed on as received (encoded once by the publisher, never per socket).

`attach` returns only after Redis confirmed the subscription, so a connection that reads the
log head afterwards cannot miss a frame between the two. A gap in a room's sequence (the
pub/sub link dropped and came back) is repaired from the room log before the next frame is
delivered; when the log cannot fill it, the room's connections are closed with 1013 so their
clients resume (and resync) instead of silently missing frames.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

import redis.exceptions
from prometheus_client import Gauge, Histogram

from megacity.realtime.connection import Connection
from megacity.realtime.protocol import CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN, TO_ALL, TO_STAFF
from megacity.realtime.room_log import Room, RoomLog
from megacity.telemetry.logs import get_logger

log = get_logger("megacity.realtime")

CONNECTIONS = Gauge("mc_realtime_connections", "WebSocket connections attached to a room on this replica", ["kind"])
ROOMS = Gauge("mc_realtime_rooms", "Rooms with at least one connection on this replica", ["kind"])
FANOUT_LAG = Histogram("mc_realtime_fanout_lag_seconds",
                       "From publish to the frame queued for every local recipient",
                       ["kind"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5))
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
_RECONNECT_DELAY_SECONDS = 0.5


class _RoomSlot:
    """The local connections of one room, indexed by audience."""

    __slots__ = ("room", "channel", "conns", "staff", "by_participant", "ready", "last_seq")

    def __init__(self, room: Room, channel: str, ready: asyncio.Future[None]) -> None:
        self.room = room
        self.channel = channel
        self.conns: dict[Connection, None] = {}  # insertion-ordered set
        self.staff: dict[Connection, None] = {}
        self.by_participant: dict[str, dict[Connection, None]] = {}
        self.ready = ready
        self.last_seq: int | None = None

    def add(self, conn: Connection) -> None:
        self.conns[conn] = None
        if conn.peer.staff:
            self.staff[conn] = None
        pid = conn.peer.participant_id
        if pid is not None:
            self.by_participant.setdefault(pid, {})[conn] = None

    def remove(self, conn: Connection) -> bool:
        if self.conns.pop(conn, False) is False:
            return False
        self.staff.pop(conn, None)
        pid = conn.peer.participant_id
        if pid is not None:
            group = self.by_participant.get(pid)
            if group is not None:
                group.pop(conn, None)
                if not group:
                    del self.by_participant[pid]
        return True

    def recipients(self, to: str) -> list[Connection]:
        if to == TO_ALL:
            return list(self.conns)
        if to == TO_STAFF:
            return list(self.staff)
        return list(self.by_participant.get(to[2:], ()))


class Hub:
    """One per process. `redis` is a redis.asyncio client (decode_responses=True; the pub/sub
    connection is taken from its pool and held); `log` the process's RoomLog (the hub uses its
    channel names and repairs gaps from it). `start()` before serving, `close()` when draining."""

    def __init__(self, redis: Any, log: RoomLog, *, subscribe_timeout: float = SUBSCRIBE_TIMEOUT_SECONDS) -> None:
        self.redis = redis
        self.log = log
        self.subscribe_timeout = subscribe_timeout
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._slots: dict[str, _RoomSlot] = {}
        self._sub_waiters: dict[str, deque[asyncio.Future[None]]] = {}
        self._has_subs = asyncio.Event()
        self._lock = asyncio.Lock()  # orders SUBSCRIBE/UNSUBSCRIBE commands with the slots
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Open the pub/sub connection's reader task (idempotent)."""
        if self._reader is None:
            self._pubsub = self.redis.pubsub()
            self._reader = asyncio.get_running_loop().create_task(self._read_loop(), name="realtime-hub-reader")

    async def close(self, code: int = CLOSE_GOING_AWAY) -> None:
        """Drain: close every local connection with `code` (1001: reconnect elsewhere and resume),
        then stop the reader and release the pub/sub connection."""
        self._closed = True
        for slot in list(self._slots.values()):
            for conn in list(slot.conns):
                conn.close(code)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        for task in list(self._tasks):
            task.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None

    def connections(self, room: Room | None = None) -> int:
        """Local connections in `room` (or in every room)."""
        if room is None:
            return sum(len(s.conns) for s in self._slots.values())
        slot = self._slots.get(self.log.channel(room))
        return len(slot.conns) if slot else 0

    async def attach(self, conn: Connection) -> None:
        """Route the room's frames to `conn` from now on (subscribing the room's channel on this
        replica if it is the first local connection). Returns once the subscription is live;
        raises (and leaves `conn` detached) when Redis does not confirm it in time."""
        if self._closed or self._reader is None:
            raise RuntimeError("the hub is not started")
        room = conn.peer.room
        channel = self.log.channel(room)
        async with self._lock:
            slot = self._slots.get(channel)
            if slot is None:
                slot = _RoomSlot(room, channel, asyncio.get_running_loop().create_future())
                self._slots[channel] = slot
                ROOMS.labels(room.kind).inc()
                waiters = self._sub_waiters.setdefault(channel, deque())
                waiters.append(slot.ready)
                slot.add(conn)
                CONNECTIONS.labels(room.kind).inc()
                try:
                    await self._pubsub.subscribe(channel)
                except BaseException:
                    # no SUBSCRIBE went out: no confirmation will come for this waiter
                    with contextlib.suppress(ValueError):
                        waiters.remove(slot.ready)
                    if not waiters:
                        self._sub_waiters.pop(channel, None)
                    self.detach(conn)
                    raise
                self._has_subs.set()
            else:
                slot.add(conn)
                CONNECTIONS.labels(room.kind).inc()
        try:
            await asyncio.wait_for(asyncio.shield(slot.ready), self.subscribe_timeout)
        except BaseException:
            self.detach(conn)
            raise

    def detach(self, conn: Connection) -> None:
        """Stop routing to `conn`; the last connection of a room unsubscribes its channel."""
        room = conn.peer.room
        channel = self.log.channel(room)
        slot = self._slots.get(channel)
        if slot is None or not slot.remove(conn):
            return
        CONNECTIONS.labels(room.kind).dec()
        if not slot.conns:
            del self._slots[channel]
            ROOMS.labels(room.kind).dec()
            if not slot.ready.done():
                slot.ready.cancel()
            if not self._closed:
                self._spawn(self._unsubscribe(channel))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _unsubscribe(self, channel: str) -> None:
        async with self._lock:
            if channel in self._slots or self._pubsub is None:
                return  # someone joined again meanwhile: keep the subscription
            try:
                await self._pubsub.unsubscribe(channel)
            except Exception as exc:  # the reconnect resubscribes only what is still wanted
                log.warning("realtime unsubscribe failed", extra={"channel": channel, "error": str(exc)})

    # -- reader ----------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        await self._has_subs.wait()
        broken = False
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
                if broken:
                    broken = False
                    await self._repair_all()
            except asyncio.CancelledError:
                raise
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                if not broken:
                    log.warning("realtime pub/sub link lost; reconnecting", extra={"error": str(exc)})
                broken = True
                await asyncio.sleep(_RECONNECT_DELAY_SECONDS)
                continue
            except Exception:
                log.exception("realtime pub/sub reader error")
                await asyncio.sleep(_RECONNECT_DELAY_SECONDS)
                continue
            if message is None:
                continue
            kind = message.get("type")
            if kind == "message":
                try:
                    await self._on_message(_text(message["channel"]), _text(message["data"]))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("realtime frame dispatch failed")
            elif kind == "subscribe":
                waiters = self._sub_waiters.get(_text(message["channel"]))
                if waiters:
                    fut = waiters.popleft()
                    if not waiters:
                        del self._sub_waiters[_text(message["channel"])]
                    if not fut.done():
                        fut.set_result(None)

    async def _on_message(self, channel: str, data: str) -> None:
        slot = self._slots.get(channel)
        if slot is None:
            return
        seq_text, to, close_text, published_ms, frame = data.split("|", 4)
        seq = int(seq_text)
        last = slot.last_seq
        if last is not None:
            if seq <= last:
                return
            if seq > last + 1 and not await self._repair(slot, last, seq - 1):
                return
        self._fanout(slot, seq, to, int(close_text) if close_text else None, frame)
        FANOUT_LAG.labels(slot.room.kind).observe(max(0.0, time.time() - int(published_ms) / 1000))

    def _fanout(self, slot: _RoomSlot, seq: int, to: str, close: int | None, frame: str) -> None:
        slot.last_seq = seq
        for conn in slot.recipients(to):
            conn.deliver(seq, frame, close)

    async def _repair(self, slot: _RoomSlot, after: int, upto: int) -> bool:
        """Deliver the frames (after, upto] the pub/sub link lost, from the room log; when the
        log no longer has them, close the room's connections (1013) so the clients resume."""
        replay = await self.log.replay(slot.room, after, upto)
        if self._slots.get(slot.channel) is not slot:
            return False
        if not replay.complete:
            log.warning("realtime gap not in the room log; closing the room's connections",
                        extra={"channel": slot.channel, "after": after, "upto": upto})
            for conn in list(slot.conns):
                conn.close(CLOSE_TRY_AGAIN)
            slot.last_seq = upto
            return True
        for entry in replay.entries:
            self._fanout(slot, entry.seq, entry.to, entry.close, entry.frame)
        return True

    async def _repair_all(self) -> None:
        """After the link came back: fill every room up to its log head."""
        for slot in list(self._slots.values()):
            if slot.last_seq is None:
                continue
            head = await self.log.head(slot.room)
            if head > slot.last_seq:
                await self._repair(slot, slot.last_seq, head)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
