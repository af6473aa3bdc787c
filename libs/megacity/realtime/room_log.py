"""A room's ordered, replayable frame log in Redis, and its fan-out channel.

One Lua call per published frame: INCR the room's sequence, XADD the finished frame to the
room's stream with the id `0-<seq>` (approximate MAXLEN), PUBLISH it on the room channel, and
refresh the keys' TTL. Doing it in one script makes the sequence, the log and the live feed agree:
no frame is published without being replayable, frames reach every replica in sequence order,
and two publishers never interleave. The script splices the sequence number into the frame
text, so a frame is JSON-encoded once by the publisher and never again.

Pub/sub messages are `<seq>|<to>|<close>|<published at, ms>|<frame>`: the hub routes on the
header and forwards the frame text untouched.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from megacity.realtime.protocol import check_audience, frame_body
from megacity.redis_keys import RedisKeys

DEFAULT_MAXLEN = 5000
DEFAULT_TTL_SECONDS = 86_400
DEFAULT_MAX_IN_FLIGHT = 32
_REPLAY_BATCH = 500

# KEYS[1] seq counter, KEYS[2] stream. ARGV: channel, to, close ('' = none), frame body (after
# `{"v":1,"seq":N,`), maxlen, ttl seconds, published-at ms. Returns the sequence number.
_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
local frame = '{"v":1,"seq":' .. seq .. ',' .. ARGV[4]
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '0-' .. seq, 't', ARGV[2], 'c', ARGV[3], 'f', frame)
if type(added) == 'table' and added.err then
  -- the counter was lost while the log survived: continue after the log's last entry
  local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  seq = tonumber(string.match(last[1][1], '%-(%d+)$')) + 1
  redis.call('SET', KEYS[1], seq)
  frame = '{"v":1,"seq":' .. seq .. ',' .. ARGV[4]
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '0-' .. seq, 't', ARGV[2], 'c', ARGV[3], 'f', frame)
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('PUBLISH', ARGV[1], seq .. '|' .. ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[7] .. '|' .. frame)
return seq
"""


@dataclass(frozen=True, slots=True)
class Room:
    """One live room (a classroom session, an arena match): its tenant, its kind and its id."""

    zone_id: int
    org_id: uuid.UUID
    kind: str
    id: uuid.UUID

    def key(self, keys: RedisKeys, *parts: object) -> str:
        """`z:{zone}:o:{org}:{kind}:room:{id}:part...` — every key (and the channel) of the room."""
        return keys.tenant(self.zone_id, self.org_id, self.kind, "room", self.id, *parts)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One logged frame: its sequence number, audience, close code (or None) and frame text."""

    seq: int
    to: str
    close: int | None
    frame: str


@dataclass(frozen=True, slots=True)
class Replay:
    """Frames after a client's last sequence number. `complete` is False when the log no longer
    holds the first missed frame (trimmed or expired): the client must resync from the snapshot."""

    entries: Sequence[LogEntry]
    complete: bool


def _entry(fields: dict[str, str], seq: int) -> LogEntry:
    close = fields.get("c") or ""
    return LogEntry(seq, fields["t"], int(close) if close else None, fields["f"])


class RoomLog:
    """Publishes frames to rooms and replays them. One per process, shared by every route.

    `redis` is a redis.asyncio client with `decode_responses=True` (megacity.redis_client.make_redis);
    `keys` the service's RedisKeys (its prefix); `maxlen` the approximate number of frames kept per
    room; `ttl_seconds` how long an idle room's log lives (refreshed by every publish);
    `max_in_flight` bounds concurrent publishes, so a burst (300 answers at once, each publishing
    a tally) waits its turn instead of exhausting the client's connection pool (redis-py raises
    MaxConnectionsError past it rather than waiting).
    """

    def __init__(self, redis: Any, keys: RedisKeys, *, maxlen: int = DEFAULT_MAXLEN,
                 ttl_seconds: int = DEFAULT_TTL_SECONDS, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        self.redis = redis
        self.keys = keys
        self.maxlen = maxlen
        self.ttl_seconds = ttl_seconds
        self._script = redis.register_script(_PUBLISH)
        self._in_flight = asyncio.Semaphore(max_in_flight)

    def channel(self, room: Room) -> str:
        """The room's pub/sub channel (same tenant namespace as its keys)."""
        return room.key(self.keys, "ch")

    def _seq_key(self, room: Room) -> str:
        return room.key(self.keys, "seq")

    def _stream_key(self, room: Room) -> str:
        return room.key(self.keys, "log")

    async def publish(self, room: Room, type: str, data: Any, *, to: str = "all", close: int | None = None) -> int:
        """Log `{"v":1,"seq":N,"type":type,"data":data}` and fan it out to every replica's
        connections in the room whose audience matches `to` ("all", "staff", "p:<participant id>").
        With `close`, those recipients are disconnected with that code after the frame (kick: 4403,
        session end: 4410). Returns the frame's sequence number N."""
        return await self.publish_body(room, frame_body(type, data), to=to, close=close)

    async def publish_body(self, room: Room, body: str, *, to: str = "all", close: int | None = None) -> int:
        """`publish` with a frame body already encoded by `protocol.frame_body` (one encoding
        reused, e.g. the same chat line to several rooms)."""
        check_audience(to)
        keys = [self._seq_key(room), self._stream_key(room)]
        close_text = "" if close is None else str(int(close))
        async with self._in_flight:
            seq = await self._script(keys=keys, args=[self.channel(room), to, close_text, body, self.maxlen,
                                                      self.ttl_seconds, int(time.time() * 1000)])
        return int(seq)

    async def head(self, room: Room) -> int:
        """The room's latest sequence number (0 before the first frame)."""
        value = await self.redis.get(self._seq_key(room))
        return int(value) if value else 0

    async def replay(self, room: Room, after_seq: int, upto: int | None = None) -> Replay:
        """Logged frames with `after_seq < seq <= upto` (default: the head), in order, for every
        audience (callers filter with protocol.audience_matches). `complete` is False when the
        frame `after_seq + 1` is gone from the log, or `after_seq` is beyond the head (the log
        was lost): the caller must resync the client instead."""
        head = await self.head(room) if upto is None else upto
        if after_seq < 0 or after_seq > head:
            return Replay((), False)
        if after_seq == head:
            return Replay((), True)
        stream = self._stream_key(room)
        entries: list[LogEntry] = []
        start = after_seq + 1
        while start <= head:
            batch = await self.redis.xrange(stream, f"0-{start}", f"0-{head}", count=_REPLAY_BATCH)
            if not batch:
                break
            for entry_id, fields in batch:
                entries.append(_entry(fields, int(str(entry_id).rpartition("-")[2])))
            start = entries[-1].seq + 1
            if len(batch) < _REPLAY_BATCH:
                break
        complete = bool(entries) and entries[0].seq == after_seq + 1 and entries[-1].seq == head
        return Replay(entries if complete else (), complete)
