"""Tenant service settings: TENANT_* variables (see megacity.settings.ServiceSettings).

Beyond the shared ones, the keys of the roster's personal data (`services.tenant.pii`):
- TENANT_PII_KEYS: comma-separated Fernet keys; the first encrypts, all decrypt (rotation: put
  a new key first, restart, run `python -m services.tenant.admin rotate-pii`, drop the old one).
- TENANT_PII_INDEX_KEY: the blind-index key (HMAC-SHA256; 32+ random bytes, url-safe base64),
  separate from the encryption keys and long-lived: changing it needs `rotate-pii` while no
  tenant process writes (see services/tenant/README.md).
Both are required outside development/test, where fixed development keys are used when unset.
"""
from __future__ import annotations

from pydantic import Field, model_validator

from megacity.pii import BlindIndex, PiiCipher, parse_key_list, require_keys
from megacity.settings import ServiceSettings, settings_class

# Development/test only: refused anywhere else.
DEV_PII_KEY = "bWVnYWNpdHktZGV2LXRlbmFudC1waWkta2V5LTAwMDA="
DEV_PII_INDEX_KEY = "bWVnYWNpdHktZGV2LXRlbmFudC1waWktaW5kZXgtMDA="


class TenantSettings(ServiceSettings):
    pii_keys: str = ""
    pii_index_key: str = ""
    # Retention (services/tenant/retention): finished roster imports and their row errors.
    roster_import_retention_days: int = Field(default=180, ge=1)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _pii_keys(self) -> TenantSettings:
        for field, variable, dev in (("pii_keys", "TENANT_PII_KEYS", DEV_PII_KEY),
                                     ("pii_index_key", "TENANT_PII_INDEX_KEY", DEV_PII_INDEX_KEY)):
            value = require_keys(getattr(self, field), variable=variable, environment=self.environment, dev_value=dev)
            object.__setattr__(self, field, value)
        if len(parse_key_list(self.pii_index_key)) != 1:
            raise ValueError("TENANT_PII_INDEX_KEY is one key (it does not rotate like TENANT_PII_KEYS)")
        PiiCipher(self.pii_key_list)  # malformed keys stop the service at start, not at first use
        BlindIndex(self.pii_index_key)
        return self

    @property
    def pii_key_list(self) -> list[str]:
        return parse_key_list(self.pii_keys)


Settings = settings_class("tenant", TenantSettings)
