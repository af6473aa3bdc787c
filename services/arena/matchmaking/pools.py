"""The queue's state in Redis (issue #15: queue state in Redis), zone-namespaced through the key
builder:

- `z:{zone}:arena:queue:{user}` — hash per queued player (pool, rating, join time); TTL a minute past
  `queue_timeout_seconds`, so a crashed worker never strands an entry;
- `z:{zone}:arena:pool:{mode}:{topic|all}` — ZSET per pool: user id scored by join time (ms);
- `z:{zone}:arena:pools` — the zone's non-empty pools, what the worker scans;
- `z:{zone}:arena:poolmeta:{mode}:{topic|all}` — version (bumped on every change), last round;
- `z:{zone}:arena:poollock:{mode}:{topic|all}` — one replica pairs a pool at a time.

Every change is one Lua call, so a player is in at most one pool, and a pairing round takes a
player only if it is still the same queue entry (same pool, same join time): a player who left,
or left and joined again, is never matched from a stale read.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from megacity.runtime import Resources

ALL_TOPICS = "all"  # the key part of the pool without a topic (topics are category ids: no clash)

# KEYS: player hash, pool zset, pools set, pool meta. ARGV: user, joined_ms, pool member, ttl, field/values.
_JOIN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('HINCRBY', KEYS[4], 'v', 1)
return 1
"""

# KEYS: pool zset, pool meta, player hashes. ARGV: users, their joined_ms, pool member. All or none.
_TAKE = """
local n = #KEYS - 2
for i = 1, n do
  local entry = redis.call('HMGET', KEYS[i + 2], 'joined_ms', 'pool')
  if entry[1] ~= ARGV[n + i] or entry[2] ~= ARGV[2 * n + 1] then return 0 end
end
for i = 1, n do
  redis.call('DEL', KEYS[i + 2])
  redis.call('ZREM', KEYS[1], ARGV[i])
end
redis.call('HINCRBY', KEYS[2], 'v', 1)
return 1
"""

# KEYS: pool zset, pools set, pool meta. ARGV: pool member.
_FORGET_EMPTY = """
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
"""

# KEYS: pool zset, player hashes. ARGV: users. Members whose entry expired leave the pool.
_DROP_ORPHANS = """
local dropped = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    dropped = dropped + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return dropped
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Pool:
    """One queue: a zone's players of one mode and topic ('' = all topics)."""

    zone_id: int
    mode: str
    topic: str

    @property
    def member(self) -> str:
        return f"{self.mode}:{self.topic}"

    @classmethod
    def parse(cls, zone_id: int, member: str) -> Pool:
        mode, _, topic = member.partition(":")
        return cls(zone_id, mode, topic)

    def _key(self, res: Resources, kind: str) -> str:
        return res.keys.zone(self.zone_id, "arena", kind, self.mode, self.topic or ALL_TOPICS)

    def zset(self, res: Resources) -> str:
        return self._key(res, "pool")

    def meta(self, res: Resources) -> str:
        return self._key(res, "poolmeta")

    def lock(self, res: Resources) -> str:
        return self._key(res, "poollock")


@dataclass(frozen=True)
class Entry:
    """A queued player: its rating at join, the address it joined from (fair play's related-account
    check, on its match seat), and whether a ghost match may still be tried (false once none was)."""

    user_id: uuid.UUID
    org_id: uuid.UUID | None
    pool: Pool
    rating: float
    joined_ms: int
    address: str | None = None
    ghost: bool = True

    def fields(self) -> dict[str, str]:
        return {"user_id": str(self.user_id), "org_id": str(self.org_id or ""), "pool": self.pool.member,
                "rating": repr(self.rating), "joined_ms": str(self.joined_ms), "address": self.address or "",
                "ghost": "1" if self.ghost else "0"}

    @classmethod
    def load(cls, zone_id: int, h: dict[str, str]) -> Entry:
        return cls(uuid.UUID(h["user_id"]), uuid.UUID(h["org_id"]) if h["org_id"] else None,
                   Pool.parse(zone_id, h["pool"]), float(h["rating"]), int(h["joined_ms"]), h["address"] or None,
                   h["ghost"] == "1")


def player_key(res: Resources, zone_id: int, user_id: uuid.UUID | str) -> str:
    return res.keys.zone(zone_id, "arena", "queue", str(user_id))


def pools_key(res: Resources, zone_id: int) -> str:
    return res.keys.zone(zone_id, "arena", "pools")


async def add(res: Resources, entry: Entry, ttl_seconds: int) -> bool:
    """Queue `entry`; False when the player already waits in a queue (any pool)."""
    p = entry.pool
    fields = [x for kv in entry.fields().items() for x in kv]
    return bool(await res.redis.eval(_JOIN, 4, player_key(res, p.zone_id, entry.user_id), p.zset(res),
                                     pools_key(res, p.zone_id), p.meta(res), str(entry.user_id), entry.joined_ms,
                                     p.member, ttl_seconds, *fields))


async def get(res: Resources, zone_id: int, user_id: uuid.UUID | str) -> Entry | None:
    h = await res.redis.hgetall(player_key(res, zone_id, user_id))
    return Entry.load(zone_id, h) if h else None


async def take(res: Resources, pool: Pool, entries: list[Entry]) -> bool:
    """Remove these queue entries together if every one is still the same entry (a pair for a
    match, one player leaving or timing out); False and no change otherwise."""
    hashes = [player_key(res, pool.zone_id, e.user_id) for e in entries]
    args = [str(e.user_id) for e in entries] + [str(e.joined_ms) for e in entries] + [pool.member]
    return bool(await res.redis.eval(_TAKE, 2 + len(entries), pool.zset(res), pool.meta(res), *hashes, *args))


async def members(res: Resources, pool: Pool) -> list[Entry]:
    """The pool's players, longest waiting first; entries that expired leave the pool."""
    users = await res.redis.zrange(pool.zset(res), 0, -1)
    if not users:
        return []
    async with res.redis.pipeline(transaction=False) as pipe:
        for u in users:
            pipe.hgetall(player_key(res, pool.zone_id, u))
        hashes = await pipe.execute()
    gone = [u for u, h in zip(users, hashes) if not h]
    if gone:
        await res.redis.eval(_DROP_ORPHANS, 1 + len(gone), pool.zset(res),
                             *[player_key(res, pool.zone_id, u) for u in gone], *gone)
    return [Entry.load(pool.zone_id, h) for h in hashes if h and h.get("pool") == pool.member]


async def pools(res: Resources, zone_id: int) -> list[Pool]:
    return [Pool.parse(zone_id, m) for m in sorted(await res.redis.smembers(pools_key(res, zone_id)))]


async def size(res: Resources, pool: Pool) -> int:
    return int(await res.redis.zcard(pool.zset(res)))


async def forget_if_empty(res: Resources, pool: Pool) -> bool:
    return bool(await res.redis.eval(_FORGET_EMPTY, 3, pool.zset(res), pools_key(res, pool.zone_id), pool.meta(res),
                                     pool.member))


async def meta(res: Resources, pool: Pool) -> dict[str, int]:
    """version `v` (bumped by every join, leave and take), `round_ms` and `round_v` (the last
    round's start and the version it saw), `pushed_v` (the version last announced to the pool)."""
    return {k: int(v) for k, v in (await res.redis.hgetall(pool.meta(res))).items()}


async def set_meta(res: Resources, pool: Pool, **values: int) -> None:
    await res.redis.hset(pool.meta(res), mapping={k: str(v) for k, v in values.items()})


async def lock(res: Resources, pool: Pool, token: str, ttl_ms: int) -> bool:
    return bool(await res.redis.set(pool.lock(res), token, nx=True, px=ttl_ms))


async def unlock(res: Resources, pool: Pool, token: str) -> None:
    await res.redis.eval(_RELEASE, 1, pool.lock(res), token)
