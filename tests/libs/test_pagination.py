"""megacity.pagination: opaque, signed, listing-bound keyset cursors; anything else is a 400."""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from types import SimpleNamespace

import pytest

from megacity.errors import AppError
from megacity.pagination import MAX_CURSOR_CHARS, Keyset

SECRET = "pagination-test-secret"
EXAMS = Keyset("exam.exams", created_at=dt.datetime, id=uuid.UUID)
ITEMS = Keyset("exam.items", created_at=dt.datetime, id=uuid.UUID)
STUDENTS = Keyset("tenant.students", grade=int, name=str, id=uuid.UUID)
WHEN = dt.datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=dt.UTC)
ROW_ID = uuid.UUID("3f1c2b7e-8a4d-4c1e-9b2a-5d6e7f809a1b")


def _invalid(keyset: Keyset, cursor: str, secret: str = SECRET) -> None:
    with pytest.raises(AppError) as err:
        keyset.decode(cursor, secret)
    assert (err.value.status, err.value.code) == (400, "request.invalid_cursor"), cursor


def test_round_trip_keeps_types_and_precision() -> None:
    cursor = EXAMS.encode((WHEN, ROW_ID), SECRET)
    assert EXAMS.decode(cursor, SECRET) == (WHEN, ROW_ID)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor  # URL-safe, no padding
    assert str(ROW_ID) not in cursor and len(cursor) < 200
    other_zone = WHEN.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert EXAMS.decode(EXAMS.encode((other_zone, ROW_ID), SECRET), SECRET) == (other_zone, ROW_ID)
    korean = (3, "김민준 (반장)", ROW_ID)
    assert STUDENTS.decode(STUDENTS.encode(korean, SECRET), SECRET) == korean
    assert EXAMS.decode(None, SECRET) is None and EXAMS.decode("", SECRET) is None


def test_tampered_foreign_and_malformed_cursors_are_400() -> None:
    cursor = EXAMS.encode((WHEN, ROW_ID), SECRET)
    _invalid(ITEMS, cursor)                      # another listing's cursor
    _invalid(EXAMS, cursor, "another-secret")    # another service / a rotated secret
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[5] ^= 0x01                               # one bit of the key changed
    _invalid(EXAMS, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))
    # The old unsigned formats (exam: base64 JSON, kzone: base64 "when|id") are refused too.
    for old in (base64.urlsafe_b64encode(json.dumps([WHEN.isoformat(), str(ROW_ID)]).encode()).decode(),
                base64.urlsafe_b64encode(f"{WHEN.isoformat()}|{ROW_ID}".encode()).decode()):
        _invalid(EXAMS, old)
    for junk in ("garbage", "not-a-cursor", "!!!!", "é", "A", "AAAA" * 10, "x" * (MAX_CURSOR_CHARS + 1)):
        _invalid(EXAMS, junk)


def test_signed_but_ill_typed_values_are_400() -> None:
    """Even a correctly signed payload must carry the listing's key types (defence in depth)."""
    for values in ([WHEN.replace(tzinfo=None).isoformat(), str(ROW_ID)], ["yesterday", str(ROW_ID)],
                   [WHEN.isoformat(), "not-a-uuid"], [WHEN.isoformat()], {"a": 1}, [1, 2]):
        payload = b"\x01" + json.dumps(values).encode()
        forged = base64.urlsafe_b64encode(payload + EXAMS._mac(SECRET, payload)).decode().rstrip("=")
        _invalid(EXAMS, forged)
    payload = b"\x01" + json.dumps([True, "a", str(ROW_ID)]).encode()
    _invalid(STUDENTS, base64.urlsafe_b64encode(payload + STUDENTS._mac(SECRET, payload)).decode())


def test_encode_refuses_values_that_do_not_fit_the_key() -> None:
    with pytest.raises(TypeError):
        EXAMS.encode((WHEN.replace(tzinfo=None), ROW_ID), SECRET)
    with pytest.raises(ValueError):
        EXAMS.encode((WHEN,), SECRET)
    with pytest.raises(ValueError):
        Keyset("x", when=float)


def test_page_cuts_the_extra_row_and_points_after_the_last_item() -> None:
    rows = [SimpleNamespace(created_at=WHEN - dt.timedelta(minutes=i), id=uuid.uuid4()) for i in range(5)]
    items, nxt = EXAMS.page(rows[:3], 2, SECRET)   # limit 2, three read: there is more
    assert items == rows[:2] and EXAMS.decode(nxt, SECRET) == (rows[1].created_at, rows[1].id)
    assert EXAMS.page(rows[:2], 2, SECRET) == (rows[:2], None)   # the last page
    assert EXAMS.page([], 2, SECRET) == ([], None)
    custom, nxt = EXAMS.page(rows, 1, SECRET, key=lambda r: (r.created_at, ROW_ID))
    assert custom == rows[:1] and EXAMS.decode(nxt, SECRET) == (rows[0].created_at, ROW_ID)
