"""Brute-force protection for credential checks, in Redis (keys from megacity.redis_keys).

Failed attempts are counted per account (hash of the zone's lower-cased email) and per client
address, in a sliding window. Reaching `max_failures` within `window` seconds blocks that
account or address for `block` seconds: every attempt meanwhile gets 429 with Retry-After,
before any password is checked, whether or not the account exists. Blocks always expire — there
is no permanent lockout — and a successful login clears the account's count.

Failures, not attempts, are counted per address: a school behind one NAT address logs in many
students a minute; the edge already limits raw login requests per address (zones.yaml).
"""
from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from typing import Any

from megacity.errors import AppError
from megacity.redis_keys import RedisKeys

_SAFE = re.compile(r"^[A-Za-z0-9_\-.]+$")


def account_part(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def address_part(address: str) -> str:
    part = address.replace(":", "-")
    return part if _SAFE.match(part) else hashlib.sha256(address.encode()).hexdigest()[:32]


def too_many(retry_after: float, what: str) -> AppError:
    seconds = max(1, math.ceil(retry_after))
    return AppError(429, "auth.too_many_attempts", f"too many failed attempts for this {what}; retry in {seconds} s",
                    {"retry_after": seconds})


class BruteForceGuard:
    def __init__(self, redis: Any, keys: RedisKeys, *, max_failures: int = 5, window: int = 60,
                 block: int = 900) -> None:
        self.redis, self.keys = redis, keys
        self.max_failures, self.window, self.block = max_failures, window, block

    def _subjects(self, zone_id: int, email: str | None, address: str | None) -> list[tuple[str, str]]:
        subjects = []
        if email is not None:
            subjects.append(("account", self.keys.zone(zone_id, "auth", "bf", "acct", account_part(email))))
        if address is not None:
            subjects.append(("address", self.keys.zone(zone_id, "auth", "bf", "addr", address_part(address))))
        return subjects

    async def check(self, zone_id: int, *, email: str | None, address: str | None) -> None:
        """Raise 429 while the account or the address is blocked."""
        subjects = self._subjects(zone_id, email, address)
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, base in subjects:
                pipe.pttl(f"{base}:block")
            ttls = await pipe.execute()
        blocked = [(ttl, what) for ttl, (what, _) in zip(ttls, subjects) if ttl and ttl > 0]
        if blocked:
            ttl, what = max(blocked)
            raise too_many(ttl / 1000, what)

    async def record_failure(self, zone_id: int, *, email: str | None, address: str | None) -> None:
        """Count one failure; start a block for whatever reached the limit."""
        now = time.time()
        subjects = self._subjects(zone_id, email, address)
        async with self.redis.pipeline(transaction=True) as pipe:
            for _, base in subjects:
                key = f"{base}:fails"
                pipe.zremrangebyscore(key, "-inf", now - self.window)
                pipe.zadd(key, {uuid.uuid4().hex: now})
                pipe.zcard(key)
                pipe.expire(key, self.window)
            results = await pipe.execute()
        counts = results[2::4]
        reached = [base for count, (_, base) in zip(counts, subjects) if count >= self.max_failures]
        if reached:
            async with self.redis.pipeline(transaction=False) as pipe:
                for base in reached:
                    pipe.set(f"{base}:block", "1", ex=self.block, nx=True)
                    pipe.delete(f"{base}:fails")
                await pipe.execute()

    async def clear_account(self, zone_id: int, email: str) -> None:
        base = self._subjects(zone_id, email, None)[0][1]
        await self.redis.delete(f"{base}:fails")


class AddressQuota:
    """A plain per-address quota (fixed one-minute window), e.g. for registrations."""

    def __init__(self, redis: Any, keys: RedisKeys, name: str, per_minute: int) -> None:
        self.redis, self.keys, self.name, self.per_minute = redis, keys, name, per_minute

    async def take(self, zone_id: int, address: str) -> None:
        key = self.keys.zone(zone_id, "auth", "quota", self.name, address_part(address))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 60, nx=True)
            pipe.ttl(key)
            count, _, ttl = await pipe.execute()
        if count > self.per_minute:
            raise AppError(429, "auth.too_many_requests", f"too many {self.name} requests from this address",
                           {"retry_after": max(1, int(ttl))})
