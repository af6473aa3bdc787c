"""Zone leaderboards and league groups as Redis sorted sets, with SQL as the truth.

A set is "built" when its marker key exists. Readers that find no marker rebuild the set from the
database (one replica at a time, under a short Redis lock; the others wait for the marker).
Writers always write (a set that lost its marker is rebuilt by the next reader anyway).

- Monotonic sets (weekly XP, league XP) take `ZADD GT` from the committed SQL value: an update
  and a rebuild merge by maximum, in any order.
- Rating sets are rebuilt into a temporary key that is renamed over the live one; a catch-up pass
  then re-reads the rows changed since the rebuild began (minus a margin), so a rating committed
  during the rebuild is not lost to the rename.

Functions take the redis-py asyncio client (`res.redis`). Ranks are 0-based `ZREVRANK`s: ties
order by member (the user id) descending — the SQL recomputation orders `score DESC,
user_id::text DESC`."""
from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import NoScriptError

from megacity.errors import AppError

BATCH = 5000
LOCK_SECONDS = 120  # a million-player board rebuilds in 10-25 s here (bench/arena_leaderboard.py)
WAIT_SECONDS = 10.0
REBUILDING = (503, "arena.leaderboard_rebuilding", "Redis lost the board and it is being rebuilt; retry shortly")
_rebuilds: dict[str, asyncio.Task[None]] = {}  # this process's rebuilds in flight, by key

# KEYS[1] the set. ARGV: member, k. One round trip: {rank, size, first rank, [member, score]...};
# rank -1 when the member is not on the board.
_AROUND = """
local r = redis.call('ZREVRANK', KEYS[1], ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
if not r then return {-1, n} end
local k = tonumber(ARGV[2])
local first = r - k
if first < 0 then first = 0 end
return {r, n, first, redis.call('ZREVRANGE', KEYS[1], first, r + k, 'WITHSCORES')}
"""
_AROUND_SHA = hashlib.sha1(_AROUND.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    rank: int  # 1-based
    user_id: uuid.UUID
    score: float


@dataclass(frozen=True, slots=True)
class Around:
    rank: int | None  # 1-based; None when the member is not on the board
    size: int
    entries: list[Entry]


Member = uuid.UUID | str
Rows = Callable[[], AsyncIterator[Sequence[tuple[Member, float | None]]]]


def marker(key: str) -> str:
    return key + ":built"


def _entries(first: int, flat: list[Any]) -> list[Entry]:
    return [Entry(first + i + 1, uuid.UUID(_s(flat[2 * i])), float(flat[2 * i + 1])) for i in range(len(flat) // 2)]


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


async def ensure_built(redis: Any, key: str, rebuild: Callable[[], Awaitable[None]],
                       wait: float = WAIT_SECONDS) -> None:
    """Rebuild the set from SQL when its marker is gone (Redis lost it, or it never was built).
    One replica rebuilds (Redis lock), in a task of its own that a reader's disconnect does not
    cancel; every reader waits up to `wait` seconds for the marker, then gets 503
    `arena.leaderboard_rebuilding` (a million-player board takes 10-25 s here)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while not await redis.exists(marker(key)):
        task = _rebuilds.get(key)
        if task is None and await redis.set(key + ":lock", "1", nx=True, ex=LOCK_SECONDS):
            task = _start(redis, key, rebuild)
        try:
            if task is not None:
                await asyncio.wait_for(asyncio.shield(task), max(0.0, deadline - loop.time()))
                return
            if loop.time() > deadline:
                raise TimeoutError
        except TimeoutError:
            raise AppError(503, "arena.leaderboard_rebuilding", "the leaderboard is being rebuilt from the database;"
                           " try again in a few seconds", {"retry_after": 5}) from None
        await asyncio.sleep(0.05)


def _start(redis: Any, key: str, rebuild: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    async def run() -> None:
        try:
            await rebuild()
        finally:
            await redis.delete(key + ":lock")

    task = asyncio.get_running_loop().create_task(run(), name=f"rebuild {key}")
    _rebuilds[key] = task
    task.add_done_callback(lambda _: _rebuilds.pop(key, None))
    return task


async def replace(redis: Any, key: str, rows: Rows, ttl: int | None = None) -> int:
    """Fill a temporary key from `rows` batches and rename it over `key`; then the marker."""
    tmp = key + ":tmp:" + uuid.uuid4().hex[:8]
    count = 0
    async for batch in rows():
        scores = {str(u): s for u, s in batch if s is not None}
        if scores:
            await redis.zadd(tmp, scores)
            count += len(scores)
    async with redis.pipeline(transaction=True) as p:
        if count:
            p.rename(tmp, key)
        else:
            p.delete(key)
        p.set(marker(key), "1", ex=ttl)
        if ttl and count:
            p.expire(key, ttl)
        await p.execute()
    return count


async def merge_max(redis: Any, key: str, rows: Rows, ttl: int | None = None) -> int:
    """`ZADD GT` every row into `key` (monotonic scores), then the marker."""
    count = 0
    async for batch in rows():
        scores = {str(u): s for u, s in batch if s is not None}
        if scores:
            await redis.zadd(key, scores, gt=True)
            count += len(scores)
    async with redis.pipeline(transaction=True) as p:
        p.set(marker(key), "1", ex=ttl)
        if ttl:
            p.expire(key, ttl)
        await p.execute()
    return count


async def put(redis: Any, key: str, user_id: uuid.UUID, score: float | None, *, gt: bool = False,
              ttl: int | None = None) -> None:
    """Set (or with `gt` raise) a member's score; None removes it from the board."""
    async with redis.pipeline(transaction=False) as p:
        if score is None:
            p.zrem(key, str(user_id))
        else:
            p.zadd(key, {str(user_id): score}, gt=gt)
            if ttl:
                p.expire(key, ttl)
        await p.execute()


async def put_batch(redis: Any, key: str, batch: Sequence[tuple[Member, float | None]]) -> None:
    """`put` for many members in one round trip (None removes)."""
    async with redis.pipeline(transaction=False) as p:
        gone = [str(u) for u, s in batch if s is None]
        scores = {str(u): s for u, s in batch if s is not None}
        if gone:
            p.zrem(key, *gone)
        if scores:
            p.zadd(key, scores)
        await p.execute()


async def top(redis: Any, key: str, start: int, count: int) -> tuple[list[Entry], int]:
    """`count` entries from 0-based rank `start`, and the board's size."""
    async with redis.pipeline(transaction=False) as p:
        p.zrevrange(key, start, start + count - 1, withscores=True)
        p.zcard(key)
        flat, size = await p.execute()
    return [Entry(start + i + 1, uuid.UUID(_s(m)), float(s)) for i, (m, s) in enumerate(flat)], int(size)


async def around(redis: Any, key: str, user_id: uuid.UUID, k: int) -> Around:
    """A member's rank and its k neighbours on each side, in one round trip."""
    try:  # the script by its digest: the body travels only when the server has not cached it yet
        out = await redis.evalsha(_AROUND_SHA, 1, key, str(user_id), k)
    except NoScriptError:
        out = await redis.eval(_AROUND, 1, key, str(user_id), k)
    if int(out[0]) < 0:
        return Around(None, int(out[1]), [])
    return Around(int(out[0]) + 1, int(out[1]), _entries(int(out[2]), list(out[3])))
