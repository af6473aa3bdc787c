"""Auth service settings: AUTH_* variables (see megacity.settings.ServiceSettings).

Beyond the shared ones:
- AUTH_PII_KEYS: comma-separated Fernet keys; the first encrypts, all decrypt (rotation: put a
  new key first, run `python -m services.auth.admin rotate-pii`, then drop the old one). It
  also encrypts the signing keys' private halves and TOTP secrets. Required outside
  development/test, where a fixed development key is used when it is unset.
- Argon2id cost (RFC 9106's second recommended profile by default).
- Brute-force limits, refresh-token lifetime, cookie and reuse grace window, trusted proxies for
  client addresses.
"""
from __future__ import annotations

from pydantic import Field, model_validator

from megacity.settings import ServiceSettings, settings_class

# Development/test only: refused anywhere else (see _pii_keys).
DEV_PII_KEY = "bWVnYWNpdHktZGV2ZWxvcG1lbnQtcGlpLWtleS0wMDA="


class AuthSettings(ServiceSettings):
    pii_keys: str = ""
    # Argon2id: time cost, memory (KiB), lanes. Tests lower these; login rehashes old hashes.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Brute force: failures per window per account and per client address, then a block.
    login_max_failures: int = 5
    login_window_seconds: int = 60
    login_block_seconds: int = 900
    # Registration costs an Argon2 hash: limit it per client address (a school's, behind one NAT).
    register_per_minute: int = 60
    refresh_ttl_days: int = 30
    refresh_cookie_name: str = "mc_refresh"
    refresh_cookie_path: str = "/api/v1/auth"
    # Reuse grace: a rotated refresh token presented again within this many seconds (a retry, a
    # second tab) gets the same new pair instead of revoking the family; 0 turns it off.
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0, le=120)
    # How long a rotated-out signing key stays in the JWKS (>= access-token lifetime).
    passive_key_retention_seconds: int = 24 * 3600
    # How often a replica re-reads the signing keys (picks up a rotation done elsewhere).
    key_reload_seconds: float = 30.0
    # How long a rotated-in key is published (JWKS) before it signs: longer than verifiers keep a
    # JWKS (megacity.auth.verifier.JwksCache, 600 s), so none meets its kid unannounced.
    key_publish_lead_seconds: float = 900.0
    mfa_challenge_ttl_seconds: int = 300
    mfa_issuer: str = "MegaCity"
    # A school behind one NAT address: failures (spray) and login attempts per address a minute.
    login_address_max_failures: int = 50
    login_per_address_per_minute: int = 200
    # Account recovery (issue #17 §5): emailed links, their lifetimes and request quotas.
    password_reset_ttl_seconds: int = Field(default=1800, ge=60, le=86400)
    email_verification_ttl_seconds: int = Field(default=48 * 3600, ge=600, le=30 * 86400)
    # Reset requests an hour, per email address asked for and per client address (a school's NAT).
    password_reset_per_email_per_hour: int = 5
    password_reset_per_address_per_hour: int = 100
    verification_resend_per_hour: int = 5
    # Where emailed links point: `{domain}` is the zone's first domain.
    account_link_base: str = "https://www.{domain}"
    account_email_poll_seconds: float = 2.0
    # Retention (services/auth/retention): audit_logs and platform_audit rows, at least a year.
    audit_retention_days: int = Field(default=365, ge=365)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _pii_keys(self) -> AuthSettings:
        dev = self.environment in ("development", "test")
        if not self.pii_keys.strip():
            if not dev:
                raise ValueError("AUTH_PII_KEYS is required outside development")
            object.__setattr__(self, "pii_keys", DEV_PII_KEY)
        elif not dev and DEV_PII_KEY in self.pii_keys:
            raise ValueError("AUTH_PII_KEYS holds the development key; set real keys outside development")
        if self.passive_key_retention_seconds < 15 * 60:
            raise ValueError("passive keys must outlive the access tokens they signed (>= 900 s)")
        return self

    @property
    def pii_key_list(self) -> list[str]:
        return [k.strip() for k in self.pii_keys.split(",") if k.strip()]


Settings = settings_class("auth", AuthSettings)
