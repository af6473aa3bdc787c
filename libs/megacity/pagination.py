"""Keyset (cursor) pagination, one implementation for every service.

A listing orders by a unique key (say `(created_at, id)`, newest first), reads `limit + 1` rows
after the last key the client saw (`WHERE (created_at, id) < (:after_created_at, :after_id)`;
never OFFSET), and hands back the page with a `next_cursor` (null on the last page). The cursor
carries that last key:

    base64url( 0x01 | JSON array of the key values | HMAC-SHA256(secret, scope, payload)[:16] )

- opaque to clients, and tamper-evident: signed with the service's `secret_key` and bound to
  its listing's `scope`, so an edited cursor, one made up by a client, or one issued by another
  listing (or another service) is refused;
- validated: the values must have the listing's key types (timezone-aware datetime, UUID, int,
  str) before they reach SQL;
- anything else is `400 request.invalid_cursor` (AppError), never a 500.

The cursor only positions the listing: every filter, the tenant context and row-level security
still apply to the rows after it. Changing `secret_key` invalidates outstanding cursors (a
client starts again from the first page).

    EXAMS = Keyset("exam.exams", created_at=dt.datetime, id=uuid.UUID)
    after = EXAMS.decode(cursor, settings.secret_key)          # None, or (created_at, id)
    rows = ... LIMIT limit + 1 ...
    items, next_cursor = EXAMS.page(rows, limit, settings.secret_key)
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from megacity.errors import AppError

INVALID_CURSOR = "request.invalid_cursor"
# Page-number paging is bounded like every other parameter: past this, `cursor` pages (an
# unbounded offset reached PostgreSQL as a bigint overflow: a 500).
MAX_OFFSET = 1_000_000
MAX_CURSOR_CHARS = 2048
_VERSION = b"\x01"
_MAC_BYTES = 16
_KEY_TYPES = (dt.datetime, uuid.UUID, int, str)

Row = TypeVar("Row")


def offset_query(description: str = "Rows to skip (page numbers)") -> Any:
    """The one `offset` query parameter of every listing that pages by number: 0..MAX_OFFSET."""
    from fastapi import Query

    return Query(0, ge=0, le=MAX_OFFSET, description=f"{description}; at most {MAX_OFFSET:,}")


def invalid_cursor() -> AppError:
    return AppError(400, INVALID_CURSOR, "cursor is not one this API returned")


def _to_json(value: Any, kind: type) -> Any:
    if kind is dt.datetime:
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise TypeError(f"a cursor datetime must be timezone-aware, got {value!r}")
        return value.isoformat()
    if kind is uuid.UUID:
        return str(uuid.UUID(str(value)))
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an int, got {value!r}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected a str, got {value!r}")
    return value


def _from_json(value: Any, kind: type) -> Any:
    if kind is dt.datetime:
        if not isinstance(value, str):
            raise ValueError("datetime")
        stamp = dt.datetime.fromisoformat(value)
        if stamp.tzinfo is None:
            raise ValueError("naive timestamp")
        return stamp
    if kind is uuid.UUID:
        if not isinstance(value, str):
            raise ValueError("uuid")
        return uuid.UUID(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("int")
        return value
    if not isinstance(value, str):
        raise ValueError("str")
    return value


class Keyset:
    """The sort key of one listing: its `scope` (unique across the platform, e.g. "exam.items")
    and the key's fields in ORDER BY order, each with its type (datetime, UUID, int or str); the
    field names are the row attributes `page` reads."""

    def __init__(self, scope: str, **fields: type) -> None:
        if not scope or not fields:
            raise ValueError("a keyset needs a scope and at least one field")
        for name, kind in fields.items():
            if kind not in _KEY_TYPES:
                raise ValueError(f"field {name}: unsupported key type {kind!r}")
        self.scope = scope
        self.fields = dict(fields)

    def _mac(self, secret: str | bytes, payload: bytes) -> bytes:
        key = secret.encode() if isinstance(secret, str) else secret
        msg = b"megacity.cursor\x00" + self.scope.encode() + b"\x00" + payload
        return hmac.new(key, msg, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, values: Sequence[Any], secret: str | bytes) -> str:
        """The cursor for the row with these key values (in field order)."""
        if len(values) != len(self.fields):
            raise ValueError(f"{self.scope}: expected {len(self.fields)} key values, got {len(values)}")
        doc = [_to_json(v, kind) for v, kind in zip(values, self.fields.values(), strict=True)]
        payload = _VERSION + json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(payload + self._mac(secret, payload)).decode().rstrip("=")

    def decode(self, cursor: str | None, secret: str | bytes) -> tuple[Any, ...] | None:
        """The key values a cursor carries (in field order); None for no cursor (the first
        page); 400 `request.invalid_cursor` for anything this listing did not issue."""
        if not cursor:
            return None
        if len(cursor) > MAX_CURSOR_CHARS:
            raise invalid_cursor()
        try:
            raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise invalid_cursor() from None
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if len(raw) <= _MAC_BYTES + 1 or not hmac.compare_digest(mac, self._mac(secret, payload)):
            raise invalid_cursor()
        try:
            if payload[:1] != _VERSION:
                raise ValueError("version")
            doc = json.loads(payload[1:].decode())
            if not isinstance(doc, list) or len(doc) != len(self.fields):
                raise ValueError("shape")
            return tuple(_from_json(v, kind) for v, kind in zip(doc, self.fields.values(), strict=True))
        except (ValueError, TypeError, UnicodeDecodeError):
            raise invalid_cursor() from None

    def key_of(self, row: Any) -> tuple[Any, ...]:
        return tuple(getattr(row, name) for name in self.fields)

    def page(self, rows: Sequence[Row], limit: int, secret: str | bytes,
             key: Callable[[Row], Sequence[Any]] | None = None) -> tuple[list[Row], str | None]:
        """Up to `limit` rows of the `limit + 1` read, and the cursor after the last of them
        when there was one more (None on the last page). `key`: the row's key values, by
        default its attributes named like the fields."""
        items = list(rows[:limit])
        if len(rows) <= limit or not items:
            return items, None
        return items, self.encode((key or self.key_of)(items[-1]), secret)
