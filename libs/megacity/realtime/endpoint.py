"""The WebSocket session driver every real-time route runs: hello, authenticate, attach, snapshot,
replay, then the client's frames until it leaves. Apps plug in four callables; the ordering that
makes resume exact lives here once.

Order on connect: accept -> `hello` within 10 s (else 4401) -> `authenticate(hello data)` ->
attach to the hub (live frames now buffer) -> read the log head -> the app's snapshot at that
head (`{"v":1,"seq":head,"type":"snapshot","resync":bool,"data":...}`) -> replay
(last_seq, head] for this peer's audience -> the buffered and later live frames with seq > head.
A `last_seq` older than the kept log (or ahead of it) gets no replay and `resync: true`.

Errors: a ProtocolError closes with its code after an `error` frame; an AppError from
`authenticate` closes with the matching 44xx code; an AppError from `handle` becomes a direct
`error` frame with its stable code and the connection stays open.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from starlette.websockets import WebSocket, WebSocketDisconnect

from megacity.errors import AppError, dependency_unavailable
from megacity.realtime.connection import DEFAULT_QUEUE_LIMIT, Connection, Peer
from megacity.realtime.hub import Hub
from megacity.realtime.protocol import (
    CLOSE_BAD_FRAME,
    CLOSE_INTERNAL_ERROR,
    CLOSE_REASONS,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    HELLO_TIMEOUT_SECONDS,
    MAX_CLIENT_FRAME_BYTES,
    ClientFrame,
    ProtocolError,
    audience_matches,
    direct_frame,
    error_frame,
    parse_client_frame,
    sequenced_frame,
)
from megacity.telemetry.logs import get_logger

log = get_logger("megacity.realtime")

SNAPSHOT_TYPE = "snapshot"


@dataclass(frozen=True, slots=True)
class Reply:
    """A direct reply to the client frame being handled: `{"v":1,"type":type,"ref":<ref>,"data":data}`."""

    type: str
    data: Any = None


Authenticate = Callable[[Mapping[str, Any]], Awaitable[Peer]]
Snapshot = Callable[[Peer, int], Awaitable[Any]]
Handle = Callable[[Peer, ClientFrame], Awaitable["Reply | Mapping[str, Any] | None"]]
OnLeave = Callable[[Peer], Awaitable[None]]


# A database or Redis that is down: the frame gets the `dependency.*_unavailable` code HTTP
# answers 503 with (a connection being set up closes with 1013: reconnect and resume).
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError)


def dependency_error(exc: Exception) -> AppError:
    name = "redis" if isinstance(exc, redis.exceptions.RedisError) else "database"
    log.warning("realtime dependency unavailable", extra={"dependency": name, "error": str(exc)[:300]})
    return dependency_unavailable(name)


def close_code_for(error: AppError) -> int:
    """The close code for an AppError ending a connection: 4000 + its 4xx status (401 -> 4401
    unauthenticated, 403 -> 4403, 404 -> 4404, 410 -> 4410, 429 -> 4429), 5xx -> 1013 try again."""
    if 400 <= error.status < 500:
        return 4000 + error.status
    return CLOSE_TRY_AGAIN


async def serve(
    websocket: WebSocket,
    hub: Hub,
    authenticate: Authenticate,
    snapshot: Snapshot,
    handle: Handle,
    on_leave: OnLeave | None = None,
    *,
    on_join: Callable[[Peer], Awaitable[None]] | None = None,
    hello_timeout: float = HELLO_TIMEOUT_SECONDS,
    queue_limit: int = DEFAULT_QUEUE_LIMIT,
    max_frame_bytes: int = MAX_CLIENT_FRAME_BYTES,
    snapshot_type: str = SNAPSHOT_TYPE,
) -> None:
    """Run one client's WebSocket session to its end (call it from the route and return).

    - `authenticate(hello_data) -> Peer`: check `hello.data` (e.g. its "token"; "last_seq" is
      read here) and say who this is; raise ProtocolError(close_code, code, detail) or AppError
      to refuse (the client gets an `error` frame, then the close).
    - `snapshot(peer, head) -> data`: the state as of log sequence `head` (read after attaching);
      sent as `{"v":1,"seq":head,"type":snapshot_type,"resync":bool,"data":data}`.
    - `handle(peer, frame) -> Reply | dict | None`: one client frame; a dict is replied as
      `<frame.type>_ack`; the reply carries the frame's `ref`. AppError -> `error` frame.
    - `on_join(peer)` (optional): after the snapshot and replay are queued (e.g. publish "joined").
    - `on_leave(peer)` (optional): after the connection is detached, however it ended.
    """
    await websocket.accept()
    hello = await _read_hello(websocket, hello_timeout, max_frame_bytes)
    if hello is None:
        return
    frame, last_seq = hello
    try:
        peer = await authenticate(frame.data)
    except ProtocolError as exc:
        await _refuse(websocket, exc.close_code, exc.code, exc.detail, frame.ref)
        return
    except AppError as exc:
        await _refuse(websocket, close_code_for(exc), exc.code, exc.detail, frame.ref, exc.extra)
        return
    except DEPENDENCY_ERRORS as exc:
        err = dependency_error(exc)
        await _refuse(websocket, CLOSE_TRY_AGAIN, err.code, err.detail, frame.ref)
        return

    conn = Connection(websocket, peer, limit=queue_limit)
    conn.start()
    attached = False
    try:
        try:
            await hub.attach(conn)
            attached = True
        except Exception as exc:
            log.warning("realtime attach failed", extra={"error": str(exc)})
            conn.send(error_frame("realtime.unavailable", "live updates are unavailable; retry"))
            conn.close(CLOSE_TRY_AGAIN)
            return
        try:
            await _resume(conn, hub, peer, last_seq, snapshot, snapshot_type)
            if on_join is not None and not conn.closing:
                await on_join(peer)
        except ProtocolError as exc:
            conn.send(error_frame(exc.code, exc.detail))
            conn.close(exc.close_code)
            return
        except AppError as exc:
            conn.send(error_frame(exc.code, exc.detail, extra=exc.extra))
            conn.close(close_code_for(exc))
            return
        except DEPENDENCY_ERRORS as exc:
            err = dependency_error(exc)
            conn.send(error_frame(err.code, err.detail))
            conn.close(CLOSE_TRY_AGAIN)
            return
        except Exception:
            log.exception("realtime snapshot failed")
            conn.send(error_frame("realtime.internal_error", "the session could not be loaded; retry"))
            conn.close(CLOSE_INTERNAL_ERROR)
            return
        await _client_loop(websocket, conn, peer, handle, max_frame_bytes)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if not conn.abandoned or task is None:
            raise
        task.uncancel()  # our own writer gave up on a client that stopped reading
    finally:
        if attached:
            hub.detach(conn)
        await conn.finish()
        if attached and on_leave is not None:
            try:
                await on_leave(peer)
            except Exception:
                log.exception("realtime on_leave failed")


async def _read_hello(websocket: WebSocket, timeout: float, max_bytes: int) -> tuple[ClientFrame, int | None] | None:
    """The hello frame and its last_seq, or None after closing the socket (timeout, bad frame)."""
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout)
    except TimeoutError:
        await _refuse(websocket, CLOSE_UNAUTHENTICATED, "realtime.hello_timeout", f"no hello within {timeout:g} s")
        return None
    if message["type"] == "websocket.disconnect":
        return None
    try:
        frame = parse_client_frame(_payload(message), max_bytes)
        if frame.type != "hello":
            raise ProtocolError(CLOSE_UNAUTHENTICATED, "realtime.hello_expected", "the first frame must be 'hello'")
        last_seq = frame.data.get("last_seq")
        if last_seq is not None and (not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0):
            raise ProtocolError(CLOSE_BAD_FRAME, "realtime.bad_frame", "'last_seq' must be a non-negative integer or null")
    except ProtocolError as exc:
        await _refuse(websocket, exc.close_code, exc.code, exc.detail)
        return None
    return frame, last_seq


async def _resume(conn: Connection, hub: Hub, peer: Peer, last_seq: int | None, snapshot: Snapshot,
                  snapshot_type: str) -> None:
    """Snapshot at the head, then the missed frames for this peer, then live (see module doc)."""
    room = peer.room
    head = await hub.log.head(room)
    entries: tuple[Any, ...] | list[Any] = ()
    resync = False
    if last_seq is not None and last_seq != head:
        replay = await hub.log.replay(room, last_seq, head)
        resync = not replay.complete
        entries = list(replay.entries)
    data = await snapshot(peer, head)
    conn.send(sequenced_frame(head, snapshot_type, data, resync=resync))
    pid, staff = peer.participant_id, peer.staff
    for entry in entries:
        if audience_matches(entry.to, pid, staff):
            conn.replay(entry.seq, entry.frame, entry.close)
    conn.end_resume(head)


async def _client_loop(websocket: WebSocket, conn: Connection, peer: Peer, handle: Handle, max_bytes: int) -> None:
    while not conn.closing:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if conn.closing:
            return
        try:
            frame = parse_client_frame(_payload(message), max_bytes)
        except ProtocolError as exc:
            conn.send(error_frame(exc.code, exc.detail))
            conn.close(exc.close_code)
            return
        try:
            result = await handle(peer, frame)
        except ProtocolError as exc:
            conn.send(error_frame(exc.code, exc.detail, frame.ref))
            conn.close(exc.close_code)
            return
        except AppError as exc:
            conn.send(error_frame(exc.code, exc.detail, frame.ref, exc.extra))
            continue
        except (asyncio.CancelledError, WebSocketDisconnect):
            raise
        except DEPENDENCY_ERRORS as exc:  # a 503 of HTTP: the frame failed, the connection stays
            err = dependency_error(exc)
            conn.send(error_frame(err.code, err.detail, frame.ref))
            continue
        except Exception:
            log.exception("realtime handler failed", extra={"frame_type": frame.type})
            conn.send(error_frame("realtime.internal_error", "the server could not handle this frame", frame.ref))
            continue
        if result is None:
            continue
        if isinstance(result, Reply):
            conn.send(direct_frame(result.type, result.data, frame.ref))
        else:
            conn.send(direct_frame(f"{frame.type}_ack", dict(result), frame.ref))


def _payload(message: Mapping[str, Any]) -> str | bytes:
    text = message.get("text")
    if text is not None:
        return str(text)
    data = message.get("bytes")
    return bytes(data) if data is not None else b""


async def _refuse(websocket: WebSocket, close_code: int, code: str, detail: str, ref: str | None = None,
                  extra: Mapping[str, Any] | None = None) -> None:
    """Before the writer exists: an `error` frame, then the close."""
    try:
        await websocket.send_text(error_frame(code, detail, ref, extra))
        await websocket.close(close_code, CLOSE_REASONS.get(close_code))
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass
