"""Encryption at rest with a rotatable key (Fernet, AES-128-CBC + HMAC-SHA256).

`MultiFernet` encrypts with the first key and decrypts with any of them, so a key rotation is:
prepend the new key to AUTH_PII_KEYS, restart, re-encrypt the rows (`rotate`, run by
`python -m services.auth.admin rotate-pii`), then drop the old key.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class PiiCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one PII key is required")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ValueError("AUTH_PII_KEYS must hold url-safe base64 32-byte Fernet keys") from exc

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
