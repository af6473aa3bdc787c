"""Brute-force protection for credential checks, in Redis (keys from megacity.redis_keys).

Failed attempts are counted per account (hash of the zone's lower-cased email) and per client
address, in a sliding window. Reaching `max_failures` (account) or `address_max_failures`
(address) within `window` seconds blocks that account or address for `block` seconds: every
attempt meanwhile gets 429 with Retry-After, before any password is checked, whether or not the
account exists. Blocks always expire — there is no permanent lockout — and a successful login
clears the account's count.

A school sits behind one NAT address: a class of 40 logs in at once and a few students mistype.
So the address's thresholds are a school's, not a person's: `address_max_failures` failures (a
password spray across many accounts, not one attacker on one account — that one meets the
account's 5 and is blocked alone, the class keeps logging in), and `address_attempts` login
attempts a minute (a ceiling on raw attempts, `429 rate_limit.exceeded`, megacity.rate_limit).
"""
from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from typing import Any

from megacity.errors import AppError
from megacity.rate_limit import Quota, SlidingWindowLimiter
from megacity.redis_keys import RedisKeys

_SAFE = re.compile(r"^[A-Za-z0-9_\-.]+$")
# School-sized address limits (AUTH_LOGIN_ADDRESS_MAX_FAILURES, AUTH_LOGIN_PER_ADDRESS_PER_MINUTE).
ADDRESS_MAX_FAILURES = 50
ADDRESS_ATTEMPTS_PER_MINUTE = 200


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
                 block: int = 900, address_max_failures: int = ADDRESS_MAX_FAILURES,
                 address_attempts: int = ADDRESS_ATTEMPTS_PER_MINUTE) -> None:
        self.redis, self.keys = redis, keys
        self.max_failures, self.window, self.block = max_failures, window, block
        self.address_max_failures, self.address_attempts = address_max_failures, address_attempts
        self._attempts = SlidingWindowLimiter(redis, service="auth")

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

    async def admit(self, zone_id: int, *, email: str, address: str) -> None:
        """A login attempt: 429 while the account or address is blocked (`check`), or beyond the
        address's attempts a minute (`429 rate_limit.exceeded`, counted only when admitted)."""
        await self.check(zone_id, email=email, address=address)
        quota = Quota("address", self.keys.zone(zone_id, "auth", "rl", "login", address_part(address)),
                      self.address_attempts)
        decision = await self._attempts.hit([quota])
        if decision is not None and not decision.allowed:
            raise decision.error()

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
        limits = {"account": self.max_failures, "address": self.address_max_failures}
        reached = [base for count, (what, base) in zip(counts, subjects) if count >= limits[what]]
        if reached:
            async with self.redis.pipeline(transaction=False) as pipe:
                for base in reached:
                    pipe.set(f"{base}:block", "1", ex=self.block, nx=True)
                    pipe.delete(f"{base}:fails")
                await pipe.execute()

    async def clear_account(self, zone_id: int, email: str) -> None:
        base = self._subjects(zone_id, email, None)[0][1]
        await self.redis.delete(f"{base}:fails")

    async def unblock_account(self, zone_id: int, email: str) -> None:
        """Failures and block of the account go (not of any address): its owner just proved the
        mailbox with a password reset, so a stranger's guessing must not keep them out."""
        base = self._subjects(zone_id, email, None)[0][1]
        await self.redis.delete(f"{base}:fails", f"{base}:block")


class AddressQuota:
    """A plain per-address quota (fixed one-minute window), e.g. for registrations."""

    def __init__(self, redis: Any, keys: RedisKeys, name: str, per_minute: int) -> None:
        self.redis, self.keys, self.name, self.per_minute = redis, keys, name, per_minute

    async def take(self, zone_id: int, address: str) -> None:
        key = self.keys.zone(zone_id, "auth", "quota", self.name, address_part(address))
        async with self.redis.pipeline(transaction=True) as pipe:
            # SET NX EX starts the window (EXPIRE ... NX needs Redis 7; make run's embedded one is 6.2)
            pipe.set(key, 0, ex=60, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
        if count > self.per_minute:
            raise AppError(429, "auth.too_many_requests", f"too many {self.name} requests from this address",
                           {"retry_after": max(1, int(ttl))})
