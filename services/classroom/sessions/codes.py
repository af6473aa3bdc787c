"""Session codes: 8 characters from an alphabet without look-alikes (no 0/O/1/I/L), so a code read
off a projector or typed on a phone is never ambiguous. 31^8 ≈ 8.5e11 codes; uniqueness among
active sessions is the database's (`idx_session_code_active`), a collision is simply retried."""
from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
TRIES = 8

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
CODE_RE = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")
# What people type around a code: spaces, dashes, lower case.
_SEPARATORS = re.compile(r"[\s\-_.]")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize_code(raw: str) -> str | None:
    """The code as stored, from what someone typed ("abcd-2345" -> "ABCD2345"); None if it cannot be one."""
    code = _SEPARATORS.sub("", raw or "").upper()
    return code if CODE_RE.match(code) else None


async def with_fresh_code(s: AsyncSession, unique_index: str, write: Callable[[str], Awaitable[T]]) -> T | None:
    """`write(code)` with new codes, each try under a SAVEPOINT, until `unique_index` stops refusing
    it; None after TRIES collisions (among 8.5e11 codes: something else is wrong). Any other
    integrity error is the caller's."""
    for _ in range(TRIES):
        try:
            async with s.begin_nested():
                return await write(new_code())
        except IntegrityError as exc:
            if unique_index not in str(exc.orig):
                raise
    return None
