"""A client-side cache of Redis keys, kept exact by Redis itself (CLIENT TRACKING, broadcast mode).

Why: every authenticated request asks Redis whether its token was revoked (and auth's /users/me
reads a cached profile). The answer almost never changes, yet the round trip was the biggest
cost of a small authenticated read. redis-py caches client-side only in its sync client, so this
is the asyncio equivalent for the few key families that are read on every request:

- one dedicated RESP3 connection enables `CLIENT TRACKING ON BCAST PREFIX ...`; Redis then
  pushes an `invalidate` message on it for every write, delete or expiry of a key under those
  prefixes, whoever made it, in the same event-loop pass that executes the write;
- `mget` answers from the process's memory when it can (absent keys are cached too: "not
  revoked" is the common answer), asks Redis for the rest, and stores what it read only if no
  invalidation arrived meanwhile (so a reply that raced a write is used once, never kept);
- an invalidation drops the keys (a flush drops everything);
- the cache is used only while that connection is known to be alive: it is pinged every
  `ping_interval` seconds, and silence for `dead_after` seconds, an error or a lost connection
  empties the cache and sends every read to Redis until tracking is set up again. Entries also
  age out after `max_age` seconds, a bound on any invalidation lost in a way nobody noticed.

Only keys under the tracked prefixes may be read through it (anything else would never be
invalidated): `mget` refuses other keys.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from megacity.telemetry.logs import get_logger
from megacity.telemetry.metrics import REDIS_CACHE_LIVE, REDIS_CACHE_READS

log = get_logger("megacity.redis_cache")


class TrackedCache:
    def __init__(self, redis: aioredis.Redis, prefixes: Iterable[str], *, name: str = "cache",
                 max_entries: int = 100_000, max_age: float = 60.0, ping_interval: float = 1.0,
                 dead_after: float = 3.0, retry_delay: float = 1.0) -> None:
        self.redis = redis
        self.prefixes = tuple(sorted(set(prefixes)))
        if not self.prefixes:
            raise ValueError("a tracked cache needs at least one key prefix")
        self.name = name
        self.max_entries, self.max_age = max_entries, max_age
        self.ping_interval, self.dead_after, self.retry_delay = ping_interval, dead_after, retry_delay
        self._entries: dict[str, tuple[float, Any]] = {}
        self._epoch = 0  # bumped by every invalidation: a read that saw it change stores nothing
        self._live = False
        self._stopping = asyncio.Event()
        self._became_live = asyncio.Event()
        self._outage_logged = False
        self._reads = {result: REDIS_CACHE_READS.labels(name, result) for result in ("hit", "miss", "bypass")}

    @property
    def live(self) -> bool:
        return self._live

    async def wait_live(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._became_live.wait(), timeout)
        return self._live

    # --- reads -----------------------------------------------------------------------------

    async def mget(self, keys: Sequence[str]) -> list[Any]:
        """Values of `keys` (None where absent), like `redis.mget`."""
        for key in keys:
            if not key.startswith(self.prefixes):
                raise ValueError(f"{key!r} is not under a tracked prefix of cache {self.name}")
        if not self._live:
            self._reads["bypass"].inc()
            return await self.redis.mget(keys)
        now = time.monotonic()
        values: list[Any] = []
        missing: list[int] = []
        for i, key in enumerate(keys):
            entry = self._entries.get(key)
            if entry is None or now - entry[0] > self.max_age:
                missing.append(i)
                values.append(None)
            else:
                values.append(entry[1])
        if not missing:
            self._reads["hit"].inc()
            return values
        self._reads["miss"].inc()
        epoch = self._epoch
        fetched = await self.redis.mget([keys[i] for i in missing])
        keep = self._live and self._epoch == epoch
        if keep and len(self._entries) + len(missing) > self.max_entries:
            self._evict(len(missing))
        for i, value in zip(missing, fetched, strict=True):
            values[i] = value
            if keep:
                self._entries[keys[i]] = (now, value)
        return values

    def _evict(self, room: int) -> None:
        """Drop the oldest tenth (dicts keep insertion order), or more if `room` needs it."""
        drop = max(room, self.max_entries // 10)
        for key in list(self._entries)[:drop]:
            del self._entries[key]

    def forget(self, keys: Iterable[str]) -> None:
        """Drop keys this process just wrote, without waiting for Redis's announcement (which
        every other process relies on, and which arrives here too)."""
        self._invalidate(list(keys))

    def _invalidate(self, keys: list[str] | None) -> None:
        self._epoch += 1
        if keys is None:  # FLUSHDB / FLUSHALL
            self._entries.clear()
            return
        for key in keys:
            self._entries.pop(key, None)

    def _go_dark(self) -> None:
        self._live = False
        self._became_live.clear()
        REDIS_CACHE_LIVE.labels(self.name).set(0)
        self._invalidate(None)

    # --- the tracking connection (a runtime worker) ---------------------------------------

    async def run(self) -> None:
        """Track until `stop()`; on any failure read through to Redis and set tracking up again
        every `retry_delay` seconds (logged once per outage, not per retry)."""
        while not self._stopping.is_set():
            try:
                await self._track()
            except Exception as exc:  # noqa: BLE001 - whatever broke, the safe state is "dark" and retrying
                if not self._stopping.is_set() and not self._outage_logged:
                    log.warning("redis cache not tracking; every read goes to redis until it is back",
                                cache=self.name, error=f"{type(exc).__name__}: {str(exc)[:200]}")
                    self._outage_logged = True
            finally:
                self._go_dark()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.retry_delay)

    def stop(self) -> None:
        self._stopping.set()

    async def _track(self) -> None:
        pool = self.redis.connection_pool
        # RESP3, so invalidations arrive as push messages on this very connection: if it dies,
        # tracking and its messages die together, and the reader below notices.
        conn = pool.connection_class(**{**pool.connection_kwargs, "protocol": 3, "health_check_interval": 0,
                                         "client_name": f"{self.name}-tracking"})
        # The parser hands RESP3 "invalidate" pushes to this handler (as redis-py's own sync
        # client-side cache does); every other reply comes back from read_response.
        conn._parser.set_invalidation_push_handler(self._on_push)  # type: ignore[attr-defined]  # RESP3 parser
        pinger: asyncio.Task[None] | None = None
        try:
            await conn.connect()  # type: ignore[no-untyped-call]
            args: list[Any] = ["CLIENT", "TRACKING", "ON", "BCAST"]
            for prefix in self.prefixes:
                args += ["PREFIX", prefix]
            await conn.send_command(*args, check_health=False)
            if str(await conn.read_response(push_request=True)) != "OK":
                raise RedisError("CLIENT TRACKING was refused")
            self._invalidate(None)
            self._live = True
            self._became_live.set()
            REDIS_CACHE_LIVE.labels(self.name).set(1)
            log.info("redis cache tracking", cache=self.name, prefixes=len(self.prefixes))
            self._outage_logged = False
            pinger = asyncio.create_task(self._ping(conn), name=f"{self.name}-ping")
            while not self._stopping.is_set():
                await conn.read_response(timeout=self.dead_after, push_request=True)
        finally:
            if pinger is not None:
                pinger.cancel()
            await conn.disconnect()

    async def _on_push(self, message: list[Any]) -> None:
        """`["invalidate", [key, ...]]`, or `["invalidate", None]` after a flush."""
        keys = message[1] if len(message) > 1 else None
        self._invalidate(None if keys is None else [k.decode() if isinstance(k, bytes) else k for k in keys])

    async def _ping(self, conn: Any) -> None:
        """Keep replies flowing, so the reader's `dead_after` timeout means a dead link."""
        with contextlib.suppress(RedisError, OSError, ConnectionError):
            while True:
                await asyncio.sleep(self.ping_interval)
                await conn.send_command("PING", check_health=False)

