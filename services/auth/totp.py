"""TOTP second factor (RFC 6238 via pyotp) and the login challenges that wait for it.

super_admin, zone_admin and org_admin (megacity.auth.permissions.MFA_REQUIRED_ROLES) — and
anyone who turned TOTP on — get a challenge instead of tokens at login. The challenge is an
opaque token kept in Redis for a few minutes (never in the DB); it remembers the role and org
the login resolved, allows a handful of wrong codes, and is consumed by the first right one.
A code is accepted once: its time step is remembered per user, so a shoulder-surfed code
cannot be replayed within its validity window.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import pyotp

from megacity.errors import AppError
from megacity.redis_keys import RedisKeys

MAX_CODE_ATTEMPTS = 5
STEP = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def matching_step(secret: str, code: str, now: float | None = None, window: int = 1) -> int | None:
    """The time step whose code equals `code` (current ±window), or None."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp, now = pyotp.TOTP(secret), time.time() if now is None else now
    step = int(now // STEP)
    for s in range(step - window, step + window + 1):
        if hmac.compare_digest(totp.at(s * STEP), code):
            return s
    return None


async def accept_code(redis: Any, keys: RedisKeys, zone_id: int, user_id: uuid.UUID, secret: str,
                      code: str) -> bool:
    """Whether `code` is valid now and not used before (then it is marked used)."""
    step = matching_step(secret, code)
    if step is None:
        return False
    used = keys.zone(zone_id, "auth", "totp_used", str(user_id), str(step))
    return bool(await redis.set(used, "1", ex=STEP * 4, nx=True))


@dataclass(frozen=True)
class Challenge:
    zone_id: int
    user_id: str
    org_id: str | None
    role: str
    enrollment_required: bool


def _key(keys: RedisKeys, zone_id: int, token: str) -> str:
    return keys.zone(zone_id, "auth", "mfa_challenge", hashlib.sha256(token.encode()).hexdigest()[:40])


async def open_challenge(redis: Any, keys: RedisKeys, challenge: Challenge, ttl: int) -> str:
    token = "mfa_" + secrets.token_urlsafe(32)
    await redis.set(_key(keys, challenge.zone_id, token), json.dumps(asdict(challenge)), ex=ttl)
    return token


async def load_challenge(redis: Any, keys: RedisKeys, zone_id: int, token: str) -> Challenge:
    raw = await redis.get(_key(keys, zone_id, token)) if token.startswith("mfa_") else None
    if raw is None:
        raise AppError(401, "auth.mfa_challenge_invalid", "the MFA challenge is unknown or expired; log in again")
    return Challenge(**json.loads(raw))


async def count_failure(redis: Any, keys: RedisKeys, zone_id: int, token: str, ttl: int) -> None:
    """One wrong code; the challenge dies after MAX_CODE_ATTEMPTS (an atomic counter, so parallel
    guesses cannot slip past the limit)."""
    key = _key(keys, zone_id, token)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(f"{key}:failures")
        pipe.expire(f"{key}:failures", ttl)
        failures, _ = await pipe.execute()
    if failures >= MAX_CODE_ATTEMPTS:
        await redis.delete(key)


async def consume(redis: Any, keys: RedisKeys, zone_id: int, token: str) -> bool:
    """Remove the challenge; False when someone else consumed it first."""
    return bool(await redis.delete(_key(keys, zone_id, token)))
