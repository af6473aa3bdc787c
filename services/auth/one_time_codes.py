"""Codes a person types once: activation codes (roster accounts) and MFA recovery codes.

50 random bits written `XXXXX-XXXXX` in an alphabet without look-alikes (no I, O, 0, 1); what a
person types is normalised first (case, spaces and dashes do not matter).

Recovery codes are stored as HMAC-SHA256 keyed with a pepper derived from AUTH_SECRET_KEY: 50
bits are few enough to search offline, so a copy of the database alone must not be enough to test
guesses (changing AUTH_SECRET_KEY therefore voids every recovery code: people make new ones).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

CODE_LENGTH = 10
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
_RECOVERY_PEPPER_LABEL = b"megacity auth: MFA recovery code pepper v1"


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(code: str) -> str:
    """What a person typed, as the code was issued."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == CODE_LENGTH else raw


def recovery_pepper(secret_key: str) -> bytes:
    """The recovery codes' HMAC key, derived from the service's secret key (never stored)."""
    return hmac.new(secret_key.encode(), _RECOVERY_PEPPER_LABEL, hashlib.sha256).digest()


def recovery_code_hash(pepper: bytes, user_id: uuid.UUID, code: str) -> bytes:
    return hmac.new(pepper, f"{user_id}:{normalize_code(code)}".encode(), hashlib.sha256).digest()
