"""TrackedCache against real Redis: reads are served in process, and every write, expiry or
delete made by anyone reaches the cache through Redis's invalidation messages."""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from megacity.redis_cache import TrackedCache
from megacity.redis_client import make_redis
from megacity.telemetry_testing import sample_value
from megacity.testing import REDIS_URL


def _reads(cache: TrackedCache, result: str) -> float:
    return sample_value("mc_redis_cache_reads_total", {"cache": cache.name, "result": result}) or 0.0


async def _eventually(check, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _running(cache: TrackedCache) -> AsyncIterator[TrackedCache]:
    task = asyncio.create_task(cache.run())
    try:
        assert await cache.wait_live(5), "tracking never became live"
        yield cache
    finally:
        cache.stop()
        await asyncio.wait_for(task, 5)  # stop() ends run() by itself
        assert not cache.live


@pytest.fixture
async def reader(namespace: str) -> AsyncIterator[tuple[TrackedCache, str]]:
    client = make_redis(REDIS_URL)
    cache = TrackedCache(client, [f"{namespace}:deny:", f"{namespace}:profile:"], name=f"test-{namespace}")
    try:
        async with _running(cache):
            yield cache, namespace
    finally:
        await client.aclose()


async def test_reads_are_served_in_process_until_someone_writes(reader, redis_client) -> None:
    cache, ns = reader
    key = f"{ns}:deny:abc"
    assert await cache.mget([key]) == [None]
    misses, hits = _reads(cache, "miss"), _reads(cache, "hit")
    for _ in range(5):
        assert await cache.mget([key]) == [None]
    assert (_reads(cache, "miss"), _reads(cache, "hit")) == (misses, hits + 5)

    await redis_client.set(key, "1", ex=60)  # another client: only Redis can tell the cache
    await _eventually(lambda: _equals(cache, [key], ["1"]))
    assert await cache.mget([key]) == ["1"]


async def _equals(cache: TrackedCache, keys: list[str], expected: list) -> bool:
    return await cache.mget(keys) == expected


async def test_expiry_and_delete_reach_the_cache(reader, redis_client) -> None:
    cache, ns = reader
    short, gone = f"{ns}:profile:short", f"{ns}:profile:gone"
    await redis_client.set(short, "a", px=300)
    await redis_client.set(gone, "b", ex=60)
    assert await cache.mget([short, gone]) == ["a", "b"]
    await redis_client.delete(gone)
    await _eventually(lambda: _equals(cache, [gone], [None]))
    await _eventually(lambda: _equals(cache, [short], [None]), timeout=3)


async def test_only_tracked_keys_may_be_read(reader) -> None:
    cache, ns = reader
    with pytest.raises(ValueError):
        await cache.mget([f"{ns}:elsewhere:x"])


async def test_a_read_that_raced_a_write_is_used_once_not_kept(namespace, redis_client) -> None:
    """The reply to our MGET can carry the old value while the write's invalidation is in flight:
    that value may answer this read, but must not be cached."""
    key = f"{namespace}:deny:race"
    writer = redis_client

    class RacingRedis:
        """A real client whose MGET gets its reply, then sees another client's write land."""

        def __init__(self, inner) -> None:
            self.inner = inner
            self.connection_pool = inner.connection_pool
            self.race = True

        async def mget(self, keys):
            values = await self.inner.mget(keys)
            if self.race:
                self.race = False
                before = cache._epoch
                await writer.set(key, "1", ex=60)
                await _eventually(lambda: _later(cache, before))
            return values

    client = make_redis(REDIS_URL)
    cache = TrackedCache(RacingRedis(client), [f"{namespace}:deny:"], name=f"race-{namespace}")  # type: ignore[arg-type]
    try:
        async with _running(cache):
            assert await cache.mget([key]) == [None]  # read before the write: fine for this request
            assert await cache.mget([key]) == ["1"]  # but not remembered
    finally:
        await client.aclose()


async def _later(cache: TrackedCache, epoch: int) -> bool:
    return cache._epoch > epoch


async def test_lost_tracking_connection_reads_through_then_recovers(reader, redis_client) -> None:
    cache, ns = reader
    key = f"{ns}:deny:lost"
    assert await cache.mget([key]) == [None]
    clients = await redis_client.client_list()
    ours = [c for c in clients if c.get("name") == f"{cache.name}-tracking"]
    assert ours and all("t" in c["flags"] and c["resp"] == "3" for c in ours), "a RESP3 connection with tracking on"
    for c in ours:
        await redis_client.client_kill_filter(_id=c["id"])
    await _eventually(lambda: _not_live(cache))
    await redis_client.set(key, "1", ex=60)  # no invalidation can reach us now
    bypass = _reads(cache, "bypass")
    assert await cache.mget([key]) == ["1"]  # read through to Redis, not from a stale cache
    assert _reads(cache, "bypass") == bypass + 1
    assert await cache.wait_live(5)
    assert await cache.mget([key]) == ["1"]


async def _not_live(cache: TrackedCache) -> bool:
    return not cache.live
