"""The user's profile (what /users/me shows) cached in Redis for a short while, so the hottest
authenticated read needs no database transaction; auth reads it through its TrackedCache, so a
repeat read costs no Redis round trip either. The phone stays encrypted in the cache as in the
table. Writers of these fields call `forget` (or `replace` with the new row) after committing; the TTL bounds any race between
a reader's refill and a writer's forget."""
from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter

from megacity.pii import PiiCipher
from megacity.redis_keys import RedisKeys
from megacity.runtime import Resources
from services.auth.accounts import User

TTL_SECONDS = 120
KEY_PARTS = ("auth", "profile")  # read through auth's TrackedCache: in process until Redis says it changed


@functools.lru_cache(maxsize=20_000)
def key(keys: RedisKeys, zone_id: int, user_id: uuid.UUID | str) -> str:
    return keys.zone(zone_id, *KEY_PARTS, str(user_id))


def dump(user: User) -> str:
    return json.dumps({"id": str(user.id), "zone_id": user.zone_id, "email": user.email,
                       "display_name": user.display_name, "phone_encrypted": user.phone_encrypted,
                       "platform_role": user.platform_role, "mfa_enabled": user.mfa_enabled,
                       "status": user.status, "created_at": user.created_at.isoformat(),
                       "email_verified_at": user.email_verified_at.isoformat() if user.email_verified_at else None,
                       "locale": user.locale})


_JSON_TIME = TypeAdapter(dt.datetime)


@functools.lru_cache(maxsize=20_000)
def shown(raw: str, cipher: PiiCipher) -> Mapping[str, Any]:
    """The profile fields of /users/me from one cached value, JSON-ready (phone decrypted, time
    as the API writes it). Memoised by the exact cached string: a repeat read of an unchanged
    profile costs neither parsing nor decryption. Raises ValueError when the phone's key was
    rotated away (the caller reloads the row)."""
    data = json.loads(raw)
    return MappingProxyType({
        "id": data["id"], "email": data["email"], "display_name": data["display_name"],
        "phone": cipher.decrypt_optional(data["phone_encrypted"]), "platform_role": data["platform_role"],
        "mfa_enabled": data["mfa_enabled"], "locale": data.get("locale"),
        "email_verified": data.get("email_verified_at") is not None,
        "email_verified_at": (_JSON_TIME.dump_python(dt.datetime.fromisoformat(data["email_verified_at"]), mode="json")
                              if data.get("email_verified_at") else None),
        "created_at": _JSON_TIME.dump_python(dt.datetime.fromisoformat(data["created_at"]), mode="json")})


async def store(res: Resources, user: User) -> None:
    await res.redis.set(key(res.keys, user.zone_id, user.id), dump(user), ex=TTL_SECONDS)


async def replace(res: Resources, user: User) -> None:
    """A writer's new profile, after its commit: the SET is a write, so Redis invalidates every
    replica's tracked copy (no separate delete needed); this process drops its own at once."""
    await store(res, user)
    if res.cache is not None:
        res.cache.forget([key(res.keys, user.zone_id, user.id)])


async def forget(res: Resources, zone_id: int, user_id: uuid.UUID | str) -> None:
    cached = key(res.keys, zone_id, user_id)
    await res.redis.delete(cached)
    if res.cache is not None:
        res.cache.forget([cached])
