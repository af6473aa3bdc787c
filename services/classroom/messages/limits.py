"""Chat pacing per participant, in Redis so it holds across replicas: a token bucket (rate per
second, burst) computed atomically in one Lua call on Redis' clock, and slow mode (one message
per N seconds, a key with a TTL)."""
from __future__ import annotations

from typing import Any

# KEYS[1] bucket. ARGV: rate per second, burst. Returns 1 (allowed) or the ms until a token.
_BUCKET = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(h[1]) or burst
local at = tonumber(h[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local allowed = tokens >= 1
if allowed then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
if allowed then return 0 end
return math.ceil((1 - tokens) / rate * 1000)
"""


class ChatLimits:
    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._bucket = redis.register_script(_BUCKET)

    async def wait_ms(self, bucket_key: str, rate: float, burst: int) -> int:
        """0 when the message may go now, else how long until it may."""
        return int(await self._bucket(keys=[bucket_key], args=[rate, burst]))

    async def slow_mode_ok(self, key: str, seconds: int) -> bool:
        return seconds <= 0 or bool(await self.redis.set(key, "1", nx=True, ex=seconds))
