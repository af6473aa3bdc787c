"""Password hashing (Argon2id, off the event loop) and the password policy.

Login must not tell an unknown email from a wrong password, not even by timing: when there is
no user, `verify` still runs Argon2 against a dummy hash made with the same parameters.
"""
from __future__ import annotations

import asyncio
import re
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from megacity.errors import AppError

MIN_LENGTH = 8
MAX_LENGTH = 256
_CLASSES = {
    "lowercase": re.compile(r"[a-z]"),
    "uppercase": re.compile(r"[A-Z]"),
    "digit": re.compile(r"[0-9]"),
    "symbol": re.compile(r"[^A-Za-z0-9]"),
}


def policy_violations(password: str, email: str | None = None) -> list[str]:
    """What is wrong with a new password (empty: acceptable).

    Length 8..256; lower case, upper case, a digit and a symbol; not the email (nor its local
    part), compared case-insensitively.
    """
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters")
    problems += [f"at least one {name} character" for name, rx in _CLASSES.items() if not rx.search(password)]
    if email:
        lowered = password.strip().lower()
        if lowered in (email.lower(), email.lower().split("@", 1)[0]):
            problems.append("must not be the email address")
    return problems


def check_policy(password: str, email: str | None = None) -> None:
    problems = policy_violations(password, email)
    if problems:
        raise AppError(422, "auth.password_weak", "the password does not meet the policy: " + "; ".join(problems),
                       {"violations": problems})


class Hasher:
    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._ph = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                                  hash_len=32, salt_len=16, type=Type.ID)
        self._dummy = self._ph.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._ph.hash, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._ph.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, stored: str | None, password: str) -> bool:
        """True only for a real hash that matches. `stored=None` (no such user) costs the same."""
        return await asyncio.to_thread(self._verify, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._ph.check_needs_rehash(stored)
        except InvalidHashError:
            return True
