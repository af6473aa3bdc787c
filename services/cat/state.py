"""CAT state in Redis, every key built by `RedisKeys` under the tenant namespace:

- `z:{zone}:o:{org}:cat:s:{session}` — hash {v: version, data: JSON SessionData}; written with a
  compare-and-set on `v` so two racing writers never lose an update (the loser gets
  `cat.concurrent_update`). TTL 6 h, renewed on every write; 24 h once finished.
- `z:{zone}:o:{org}:cat:bank:{bank}:n` — sessions started on the bank (exposure denominator);
  `…:adm` / `…:sel` — hashes item → times given / times offered to the Sympson–Hetter lottery;
  `z:{zone}:o:{org}:cat:s:{session}:counted` — marks a session already counted in `n`.
  Exposure counters are per bank, not per version (item ids persist across versions), and are
  changed only inside Lua scripts (`engine.exposure`), so concurrent sessions never exceed r_max.
The bank keys of one script share no hash tag: a single Redis (or a cluster slot pinning them
together) is assumed, as everywhere on this platform.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from megacity.redis_keys import RedisKeys
from services.cat.engine.exposure import CHOOSE_LUA, REGISTER_LUA, Choice
from services.cat.engine.session import CatError, SessionData

COUNTED_TTL_S = 7 * 24 * 3600

# KEYS[1] = session hash. ARGV: 1 = expected version ("0" = must not exist), 2 = data, 3 = TTL s.
_CAS_LUA = """
local cur = redis.call('HGET', KEYS[1], 'v')
if cur == false then cur = '0' end
if cur ~= ARGV[1] then return -1 end
local nv = tonumber(cur) + 1
redis.call('HSET', KEYS[1], 'v', nv, 'data', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return nv
"""


@dataclass(frozen=True)
class TenantRef:
    zone_id: int
    org_id: str


class SessionStore:
    def __init__(self, redis: Any, keys: RedisKeys, ttl_s: int, finished_ttl_s: int) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl_s = ttl_s
        self.finished_ttl_s = finished_ttl_s
        self._cas = redis.register_script(_CAS_LUA)

    def key(self, t: TenantRef, session_id: str) -> str:
        return self.keys.tenant(t.zone_id, t.org_id, "cat", "s", session_id)

    async def load(self, t: TenantRef, session_id: str) -> tuple[SessionData, int] | None:
        raw = await self.redis.hmget(self.key(t, session_id), ["v", "data"])
        if raw[0] is None or raw[1] is None:
            return None
        return SessionData.from_dict(json.loads(raw[1])), int(raw[0])

    async def save(self, t: TenantRef, s: SessionData, expected_version: int) -> int:
        data = json.dumps(s.to_dict(), separators=(",", ":"))
        ttl = self.finished_ttl_s if s.finished else self.ttl_s
        nv = await self._cas(keys=[self.key(t, s.session_id)], args=[str(expected_version), data, ttl])
        if int(nv) < 0:
            if expected_version == 0:
                raise CatError(409, "cat.concurrent_update", "the session was created concurrently; retry")
            raise CatError(409, "cat.concurrent_update", "the session changed concurrently; retry")
        return int(nv)

    async def touch(self, t: TenantRef, s: SessionData) -> None:
        await self.redis.expire(self.key(t, s.session_id), self.finished_ttl_s if s.finished else self.ttl_s)


class ExposureStore:
    def __init__(self, redis: Any, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._choose = redis.register_script(CHOOSE_LUA)
        self._register = redis.register_script(REGISTER_LUA)

    def _bank(self, t: TenantRef, bank_id: str, what: str) -> str:
        return self.keys.tenant(t.zone_id, t.org_id, "cat", "bank", bank_id, what)

    async def register(self, t: TenantRef, bank_id: str, session_id: str) -> int:
        marker = self.keys.tenant(t.zone_id, t.org_id, "cat", "s", session_id, "counted")
        return int(await self._register(keys=[self._bank(t, bank_id, "n"), marker], args=[COUNTED_TTL_S]))

    async def choose(self, t: TenantRef, bank_id: str, candidates: Sequence[str], mode: str, r_max: float,
                     uniforms: Sequence[float], sh_k: Sequence[float]) -> Choice:
        m = len(candidates)
        args: list[Any] = [mode, repr(float(r_max)), m, *candidates, *(repr(float(u)) for u in uniforms),
                           *("" if k != k else repr(float(k)) for k in sh_k)]
        out = await self._choose(keys=[self._bank(t, bank_id, "n"), self._bank(t, bank_id, "adm"),
                                       self._bank(t, bank_id, "sel")], args=args)
        return Choice(str(out[0]), tuple(str(x) for x in out[2:]), out[1] == "1")

    async def report(self, t: TenantRef, bank_id: str, top: int) -> tuple[int, list[tuple[str, int]]]:
        n = int(await self.redis.get(self._bank(t, bank_id, "n")) or 0)
        counts = await self.redis.hgetall(self._bank(t, bank_id, "adm"))
        ranked = sorted(((k, int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
        return n, ranked[:top]
