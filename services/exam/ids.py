"""Attempt ids are UUIDv7: 48 bits of Unix milliseconds, then randomness. The attempt's
`started_at` *is* that timestamp, so a lookup by id alone names the one monthly partition that
holds it (`WHERE id = :id AND started_at = :ts`) instead of probing every partition."""
from __future__ import annotations

import datetime as dt
import secrets
import uuid

_MIN = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_MAX = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def new_attempt_id(now: dt.datetime | None = None) -> tuple[uuid.UUID, dt.datetime]:
    """A fresh UUIDv7 and the (millisecond) timestamp it carries."""
    now = now or dt.datetime.now(dt.UTC)
    ms = int(now.timestamp() * 1000)
    rand = secrets.randbits(74)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand >> 62) << 64  # 12 bits rand_a
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # 62 bits rand_b
    return uuid.UUID(int=value), dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def started_at_of(attempt_id: uuid.UUID) -> dt.datetime | None:
    """The start time encoded in an attempt id; None when it is not one of ours."""
    if attempt_id.version != 7:
        return None
    ms = attempt_id.int >> 80
    try:
        ts = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return ts if _MIN <= ts < _MAX else None
