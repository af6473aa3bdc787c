"""The roster's phone numbers and emails at rest: each is an AES-256-GCM ciphertext (`*_encrypted`)
next to a blind index (`*_index`, HMAC-SHA256 of the normalised value, `megacity.pii`). Lookups,
the roster import's matching and the unique key (name, parent phone) use the index; only an
answer to a caller allowed to see the record decrypts. `pii_key_id` on each row names the keys
that wrote it, so `rotate-pii` (services/tenant/admin.py) finds what is left to re-encrypt."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from megacity.errors import AppError
from megacity.pii import AeadPiiCipher, BlindIndex, PiiCipher, parse_key_list, require_keys
from megacity.settings import ServiceSettings
from megacity.telemetry.logs import get_logger
from services.tenant.settings import DEV_PII_INDEX_KEY, DEV_PII_KEY, TenantSettings

log = get_logger("tenant.pii")

# SET clause for an UPDATE that may write ciphertext: a row stays marked current only when the writer's
# keys are the row's keys; otherwise '' (stale), so a replica still on the old keys during a rotation
# cannot leave an old-key ciphertext under the new id (`rotate-pii` re-encrypts '' rows).
KEY_ID_ON_WRITE = "pii_key_id = CASE WHEN pii_key_id = CAST(:kid AS text) THEN pii_key_id ELSE '' END"


PII_UNAVAILABLE = (503, "pii.key_unavailable",
                   "A stored phone number or email cannot be decrypted with the configured keys")


@dataclass(frozen=True)
class TenantPii:
    cipher: PiiCipher
    index: BlindIndex

    @property
    def key_id(self) -> str:
        """The (first encryption key, index key) pair: a row with another id needs `rotate-pii`."""
        return f"{self.cipher.key_id}.{self.index.key_id}"

    def seal_email(self, value: str | None) -> tuple[str | None, bytes | None]:
        return self.cipher.encrypt_optional(value), self.index.email_optional(value)

    def seal_phone(self, value: str | None) -> tuple[str | None, bytes | None]:
        return self.cipher.encrypt_optional(value), self.index.phone_optional(value)

    def open(self, token: str | None, *, where: str = "") -> str | None:
        """The plaintext; a value no configured key opens (a key dropped too early, see the
        runbook) is 503 `pii.key_unavailable` for the caller and a log line naming the row
        (`where`, e.g. "students:<id>") and the token's key id, never the value."""
        try:
            return self.cipher.decrypt_optional(token)
        except ValueError as exc:
            token_key = token.split(".")[1] if token and token.startswith("m1.") and token.count(".") >= 2 else "fernet"
            log.error("stored PII not decryptable", where=where, token_key_id=token_key,
                      configured_key_id=self.key_id, reason=str(exc))
            raise AppError(*PII_UNAVAILABLE) from None


@functools.cache
def _build(keys: str, index_key: str) -> TenantPii:
    return TenantPii(AeadPiiCipher(parse_key_list(keys)), BlindIndex(index_key))


def tenant_pii(settings: ServiceSettings) -> TenantPii:
    """The process's cipher and index, from TENANT_PII_KEYS / TENANT_PII_INDEX_KEY."""
    if not isinstance(settings, TenantSettings):
        raise TypeError("tenant settings expected")
    return _build(settings.pii_keys, settings.pii_index_key)


def pii_from_environment() -> TenantPii:
    """The same keys read straight from the environment, with the same rules (development keys
    only in development/test): for the migration, which runs without the service's settings and
    only calls this when there are rows to encrypt. Unlike the service, an unset environment with
    a key missing is refused: a production Job without its keys would otherwise encrypt with the
    public development keys."""
    environment = os.environ.get("TENANT_ENVIRONMENT")
    if not environment and not all(os.environ.get(v, "").strip()
                                       for v in ("TENANT_PII_KEYS", "TENANT_PII_INDEX_KEY")):
        raise RuntimeError("migration 0011 encrypts existing rows: set TENANT_PII_KEYS/TENANT_PII_INDEX_KEY,"
                           " or TENANT_ENVIRONMENT=development|test")
    environment = environment or "development"
    keys = require_keys(os.environ.get("TENANT_PII_KEYS", ""), variable="TENANT_PII_KEYS",
                        environment=environment, dev_value=DEV_PII_KEY)
    index_key = require_keys(os.environ.get("TENANT_PII_INDEX_KEY", ""), variable="TENANT_PII_INDEX_KEY",
                             environment=environment, dev_value=DEV_PII_INDEX_KEY)
    return _build(keys, index_key)
