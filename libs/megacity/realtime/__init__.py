"""Shared real-time machinery for WebSocket services (classroom now, arena next): rooms with a
replayable, sequenced frame log in Redis, cross-replica fan-out over Redis pub/sub, bounded
per-connection send queues, and one session driver (hello -> authenticate -> snapshot ->
replay -> live) so resume works the same way everywhere.

Per process: `log = RoomLog(redis, keys)`, `hub = Hub(redis, log)`, `await hub.start()` on start,
`await hub.close()` on drain. Per route: `await serve(websocket, hub, authenticate, snapshot,
handle, on_leave)`. Anywhere: `await log.publish(room, "chat", {...}, to="all")`.
"""
from megacity.realtime.connection import DEFAULT_QUEUE_LIMIT, Connection, Peer
from megacity.realtime.endpoint import SNAPSHOT_TYPE, Reply, close_code_for, serve
from megacity.realtime.hub import Hub
from megacity.realtime.protocol import (
    CLOSE_BAD_FRAME,
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NO_SESSION,
    CLOSE_NORMAL,
    CLOSE_REASONS,
    CLOSE_SESSION_ENDED,
    CLOSE_SLOW_CONSUMER,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    PROTOCOL_VERSION,
    TO_ALL,
    TO_STAFF,
    ClientFrame,
    ProtocolError,
    audience_matches,
    direct_frame,
    error_frame,
    frame_body,
    parse_client_frame,
    parse_data,
    sequenced_frame,
    to_participant,
)
from megacity.realtime.room_log import LogEntry, Replay, Room, RoomLog

__all__ = [
    "CLOSE_BAD_FRAME", "CLOSE_FORBIDDEN", "CLOSE_GOING_AWAY", "CLOSE_INTERNAL_ERROR", "CLOSE_NORMAL", "CLOSE_NO_SESSION",
    "CLOSE_REASONS", "CLOSE_SESSION_ENDED", "CLOSE_SLOW_CONSUMER", "CLOSE_TRY_AGAIN", "CLOSE_UNAUTHENTICATED",
    "DEFAULT_QUEUE_LIMIT", "PROTOCOL_VERSION", "SNAPSHOT_TYPE", "TO_ALL", "TO_STAFF",
    "ClientFrame", "Connection", "Hub", "LogEntry", "Peer", "ProtocolError", "Replay", "Reply", "Room", "RoomLog",
    "audience_matches", "close_code_for", "direct_frame", "error_frame", "frame_body", "parse_client_frame", "parse_data",
    "sequenced_frame", "serve", "to_participant",
]
