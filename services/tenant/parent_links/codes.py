"""School-issued parent codes: how a code looks, how it is stored, and how guessing is stopped.

- A code is 12 characters from a 32-letter alphabet without look-alikes (60 bits), shown as
  `XXXX-XXXX-XXXX`; input is read case-insensitively, dashes and spaces ignored.
- Only HMAC-SHA256(secret_key, code) is stored: a leaked table gives no usable code.
- Every failed link attempt (a wrong, used or expired code, or an email that is no student of
  the org) counts in Redis, per user (`MAX_PER_USER`) and per org (`MAX_PER_ORG`, many accounts
  guessing together) in a fixed window of `WINDOW_SECONDS`; past either, every attempt — even
  with a right code — is `429 parent_link.too_many_attempts` with Retry-After. Redis down is
  `503 dependency.redis_unavailable` (fail closed: no guessing without the counter).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from redis.exceptions import RedisError

from megacity.errors import AppError
from megacity.redis_keys import RedisKeys

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 12
MAX_PER_USER = 5
MAX_PER_ORG = 50
WINDOW_SECONDS = 900


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def code_hash(secret_key: str, code: str) -> bytes:
    return hmac.new(secret_key.encode(), normalize(code).encode(), hashlib.sha256).digest()


def _unavailable(exc: Exception) -> AppError:
    return AppError(503, "dependency.redis_unavailable", f"the attempt counter is unreachable: {type(exc).__name__}")


class AttemptGuard:
    """Failed link attempts per user and per org (see module doc)."""

    def __init__(self, redis: Any, keys: RedisKeys) -> None:
        self.redis, self.keys = redis, keys

    def _keys(self, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> list[tuple[str, int]]:
        return [(self.keys.tenant(zone_id, org_id, "parent_link", "fails", "user", user_id), MAX_PER_USER),
                (self.keys.tenant(zone_id, org_id, "parent_link", "fails", "org"), MAX_PER_ORG)]

    async def check(self, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """429 while the user or the org has used up its failures."""
        subjects = self._keys(zone_id, org_id, user_id)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, _ in subjects:
                    pipe.get(key)
                    pipe.ttl(key)
                got = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        for (_, limit), count, ttl in zip(subjects, got[0::2], got[1::2]):
            if count is not None and int(count) >= limit:
                retry = max(1, int(ttl) if ttl and int(ttl) > 0 else WINDOW_SECONDS)
                raise AppError(429, "parent_link.too_many_attempts",
                               f"too many failed link attempts; retry in {retry} s", {"retry_after": retry})

    async def record_failure(self, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key, _ in self._keys(zone_id, org_id, user_id):
                    pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)  # starts the window; works on Redis 6
                    pipe.incr(key)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
