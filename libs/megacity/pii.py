"""Personal data at rest: a rotatable cipher (Fernet) and a keyed blind index to find it again.

`PiiCipher`: `MultiFernet` (AES-128-CBC + HMAC-SHA256, a random IV per value) encrypts with the
first key and decrypts with any of them, so an encryption-key rotation is: prepend the new key,
restart, re-encrypt the rows (`rotate`), then drop the old key. The same value never encrypts
to the same text, so a ciphertext column can be neither searched nor kept unique.
`AeadPiiCipher`: the same keys and rotation, but new values are AES-256-GCM tokens
(`m1.<key id>.<nonce+ciphertext+tag>`, key derived from the configured key by HKDF), about five
times cheaper than Fernet per value — for bulk writers such as the roster import, where Fernet's
per-call cost alone would eat most of the import's speed. It reads Fernet tokens as well.

`BlindIndex`: HMAC-SHA256 under a separate, long-lived key over a normalised value (an email
trimmed and lower-cased, a phone number as digits with its leading `+`), with a domain tag per
kind of value. Equal values give equal digests, so a unique index and an equality join (the
roster import's matching) work on the digest; without the key the digest tells nothing and
cannot be tested against guesses. One index key on purpose: rotating it means recomputing
every digest from the decrypted values while nothing writes (a lookup under the new key misses
a row still under the old one), which the services' `rotate-pii` commands do when it changed;
the encryption keys are the ones that rotate routinely.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NON_DIGITS = re.compile(r"[^0-9]")
KEY_ID_LENGTH = 12


def key_id(key: str) -> str:
    """A short public fingerprint of a key (to tell which key wrote a row); reveals nothing of it."""
    return hashlib.sha256(b"megacity-pii-key-id\x00" + key.strip().encode()).hexdigest()[:KEY_ID_LENGTH]


def parse_key_list(value: str) -> list[str]:
    """`a, b` -> [a, b]: the comma-separated form of a key list in settings."""
    return [k.strip() for k in value.split(",") if k.strip()]


def require_keys(value: str, *, variable: str, environment: str, dev_value: str) -> str:
    """The configured keys, or `dev_value` in development/test when none are set; refuses a
    missing key or the development key anywhere else (a service's settings validator)."""
    dev = environment in ("development", "test")
    if not value.strip():
        if not dev:
            raise ValueError(f"{variable} is required outside development")
        return dev_value
    if not dev and dev_value in parse_key_list(value):
        raise ValueError(f"{variable} holds the development key; set real keys outside development")
    return value


class PiiCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one PII key is required")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ValueError("PII keys must be url-safe base64 32-byte Fernet keys") from exc
        self.key_id = key_id(keys[0])

    def encrypt(self, value: str | bytes) -> str:
        data = value.encode() if isinstance(value, str) else value
        return self._fernet.encrypt(data).decode()

    def decrypt_bytes(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise ValueError("ciphertext was not made with any configured PII key") from None

    def decrypt(self, token: str) -> str:
        return self.decrypt_bytes(token).decode()

    def encrypt_optional(self, value: str | None) -> str | None:
        return None if value is None else self.encrypt(value)

    def decrypt_optional(self, token: str | None) -> str | None:
        return None if token is None else self.decrypt(token)

    def rotate(self, token: str) -> str:
        """Re-encrypt under the current first key (no-op in meaning, new ciphertext)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise ValueError("ciphertext was not made with any configured PII key") from None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()


_AEAD_PREFIX = "m1."
_NONCE = 12


class AeadPiiCipher(PiiCipher):
    """PiiCipher writing AES-256-GCM tokens (see the module doc); decrypts both formats."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(keys)
        self._aead: dict[str, AESGCM] = {}
        for key in keys:
            raw = base64.urlsafe_b64decode(key.strip().encode())
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                           info=b"megacity-pii-aes256gcm-v1").derive(raw)
            self._aead.setdefault(key_id(key), AESGCM(derived))
        self._first = self._aead[self.key_id]
        self._prefix = f"{_AEAD_PREFIX}{self.key_id}."

    def encrypt(self, value: str | bytes) -> str:
        data = value.encode() if isinstance(value, str) else value
        nonce = os.urandom(_NONCE)
        sealed = self._first.encrypt(nonce, data, self._prefix.encode())
        return self._prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt_bytes(self, token: str) -> bytes:
        if not token.startswith(_AEAD_PREFIX):
            return super().decrypt_bytes(token)
        parts = token.split(".", 2)
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise ValueError("ciphertext is damaged (not an m1.<key id>.<data> token)")
        _, kid, body = parts
        aead = self._aead.get(kid)
        if aead is None:
            raise ValueError("ciphertext was not made with any configured PII key")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return aead.decrypt(raw[:_NONCE], raw[_NONCE:], f"{_AEAD_PREFIX}{kid}.".encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise ValueError("ciphertext is damaged or was not made with this PII key") from None

    def rotate(self, token: str) -> str:
        return self.encrypt(self.decrypt_bytes(token))


def normalize_email(value: str) -> str:
    """The form an email is indexed under: trimmed, lower-cased."""
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """The form a phone number is indexed under: its digits, `+` kept when it leads (an
    international number). `010-1234-5678` and `010 1234 5678` are one number; `+82 10…` and
    `010…` stay two, as in the roster's match key (no region is known to convert with)."""
    value = value.strip()
    return ("+" if value.startswith("+") else "") + _NON_DIGITS.sub("", value)


class BlindIndex:
    """Keyed digests of normalised values (see the module doc). The key is at least 32 random
    bytes in url-safe base64 (`generate_key()`, the same form as a Fernet key)."""

    def __init__(self, key: str) -> None:
        try:
            raw = base64.urlsafe_b64decode(key.strip().encode())
        except (ValueError, binascii.Error) as exc:
            raise ValueError("a PII index key must be url-safe base64") from exc
        if len(raw) < 32:
            raise ValueError("a PII index key must hold at least 32 random bytes")
        self._key = raw
        self.key_id = key_id(key)

    def digest(self, kind: str, normalised: str) -> bytes:
        return hmac.digest(self._key, kind.encode() + b"\x00" + normalised.encode(), "sha256")

    def email(self, value: str) -> bytes:
        return self.digest("email", normalize_email(value))

    def phone(self, value: str) -> bytes:
        return self.digest("phone", normalize_phone(value))

    def email_optional(self, value: str | None) -> bytes | None:
        return None if value is None else self.email(value)

    def phone_optional(self, value: str | None) -> bytes | None:
        return None if value is None else self.phone(value)

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()
