"""Keyset (cursor) pagination: an opaque cursor holding the last row's sort key, never OFFSET."""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

from megacity.errors import AppError


def encode_cursor(created_at: dt.datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, uuid.UUID] | None:
    """(created_at, id) of the last row seen; 400 `request.invalid_cursor` for anything else."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, row_id = json.loads(raw)
        ts = dt.datetime.fromisoformat(when)
        if ts.tzinfo is None:
            raise ValueError("naive timestamp")
        return ts, uuid.UUID(row_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise AppError(400, "request.invalid_cursor", "cursor is not one this API returned") from None
