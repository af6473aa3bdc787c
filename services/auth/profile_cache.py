"""The user's profile (what /users/me shows) cached in Redis for a short while, so the hottest
authenticated read costs one Redis round trip (together with the revocation check) and no
database transaction. The phone stays encrypted in the cache as in the table. Writers of these
fields call `forget` after committing; the TTL bounds any race between a reader's refill and a
writer's forget."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from megacity.redis_keys import RedisKeys
from services.auth.users import User

TTL_SECONDS = 120


def key(keys: RedisKeys, zone_id: int, user_id: uuid.UUID | str) -> str:
    return keys.zone(zone_id, "auth", "profile", str(user_id))


def dump(user: User) -> str:
    return json.dumps({"id": str(user.id), "zone_id": user.zone_id, "email": user.email,
                       "display_name": user.display_name, "phone_encrypted": user.phone_encrypted,
                       "platform_role": user.platform_role, "mfa_enabled": user.mfa_enabled,
                       "status": user.status, "created_at": user.created_at.isoformat()})


def load(raw: str) -> dict[str, Any]:
    data = json.loads(raw)
    data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
    return data


async def store(redis: Any, keys: RedisKeys, user: User) -> None:
    await redis.set(key(keys, user.zone_id, user.id), dump(user), ex=TTL_SECONDS)


async def forget(redis: Any, keys: RedisKeys, zone_id: int, user_id: uuid.UUID | str) -> None:
    await redis.delete(key(keys, zone_id, user_id))
