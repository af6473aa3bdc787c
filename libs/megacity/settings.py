"""Service settings: pydantic-settings with one env prefix per service (AUTH_, EXAM_, ...).

Fails fast on missing or malformed values, and refuses placeholder secrets anywhere but
development so a forgotten `changeme` never reaches production.
"""
from __future__ import annotations

from typing import ClassVar, Literal, TypeVar, overload

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from megacity.zones import registry

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "password", "dev", "development", "test"}


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclass per service with `env_prefix="<NAME>_"`."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    # Services without tables (cat, inference) get no database URL in compose and k8s.
    keeps_tables: ClassVar[bool] = True

    service_name: str
    environment: Literal["development", "test", "compose", "staging", "production"] = "development"
    http_host: str = "127.0.0.1"
    # None: the registry's port for this service; 0: any free port (tests).
    http_port: int | None = None
    grpc_host: str = "127.0.0.1"
    grpc_port: int | None = None
    # App role (no BYPASSRLS, not the table owner) and owner role (migrations only).
    database_url: str = ""
    migration_database_url: str = ""
    # PgBouncer in transaction mode cannot keep server-side prepared statements.
    database_prepare_threshold: int | None = None
    database_pool_size: int = 10
    redis_url: str = "redis://127.0.0.1:6379/0"
    nats_url: str = "nats://127.0.0.1:4222"
    # Namespace for stream/subject names; tests set a unique one per test.
    events_namespace: str = "mc"
    # How to reach a peer's gRPC server: native runs use localhost, compose uses hostnames.
    grpc_peer_template: str = "127.0.0.1:{port}"
    # Explicit host:port per peer (JSON in env), winning over the template.
    grpc_peers: dict[str, str] = {}
    grpc_deadline_seconds: float = 5.0
    # Where services fetch auth's public keys (cached; refetched on an unknown kid).
    jwks_url: str = "http://127.0.0.1:8101/.well-known/jwks.json"
    secret_key: str = "dev"
    # The edge's addresses (IPs or CIDRs): only a direct peer among them may set X-Forwarded-For
    # / X-Forwarded-Proto (uvicorn's ProxyHeadersMiddleware). Natively the edge is on loopback;
    # compose names Traefik's fixed address. Never a whole private range: anyone there could
    # pick the address that rate and brute-force limits count.
    forwarded_allow_ips: list[str] = ["127.0.0.1", "::1"]
    log_level: str = "INFO"
    # Prepended to every Redis key (tests use a unique one); the tenant namespace follows it.
    redis_key_prefix: str = ""
    migrate_on_start: bool = False
    # Authenticated requests, per account and per org (a ceiling over all its accounts), in a
    # sliding minute (megacity.rate_limit). Sized so a class answering an exam never meets them;
    # off only for load tests that drive one account flat out.
    rate_limit_enabled: bool = True
    rate_limit_account_per_minute: int = 300
    rate_limit_org_per_minute: int = 6000
    # Outgoing email (megacity.mail). Empty smtp_url and smtp_host: email is off. smtp_url is
    # smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (TLS); the separate
    # fields fill what the URL leaves out. smtp_security: auto (STARTTLS when offered),
    # starttls (required), tls (implicit TLS), none (plain; local relays only).
    smtp_url: str = ""
    smtp_host: str = ""
    smtp_port: int | None = None
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["auto", "starttls", "tls", "none"] = "auto"
    smtp_validate_certs: bool = True
    smtp_from: str = "MegaCity <no-reply@localhost>"
    smtp_timeout_seconds: float = 10.0
    # Delivery retries of a queued email: after try n wait smtp_retry_seconds * 2**(n-1)
    # (capped at an hour); after smtp_max_attempts tries it is marked failed.
    smtp_max_attempts: int = 8
    smtp_retry_seconds: float = 30.0

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> ServiceSettings:
        spec = registry().services.get(self.service_name)
        if spec is None:
            raise ValueError(f"unknown service {self.service_name!r}; add it to zones.yaml")
        if self.http_port is None:
            object.__setattr__(self, "http_port", spec.http_port)
        if self.grpc_port is None:
            object.__setattr__(self, "grpc_port", spec.grpc_port)
        if self.environment not in ("development", "test"):
            if self.secret_key.lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 16:
                raise ValueError("secret_key is a placeholder; set a real secret outside development")
            for url in (self.database_url, self.migration_database_url):
                if ":changeme@" in url or ":password@" in url:
                    raise ValueError("database URL carries a placeholder password")
            if self.keeps_tables and not self.database_url:
                raise ValueError("database_url is required outside development")
        return self

    def peer_target(self, service: str) -> str:
        """host:port of another service's gRPC server."""
        if service in self.grpc_peers:
            return self.grpc_peers[service]
        return self.grpc_peer_template.format(service=service, port=registry().services[service].grpc_port)


S = TypeVar("S", bound=ServiceSettings)


@overload
def settings_class(name: str) -> type[ServiceSettings]: ...
@overload
def settings_class(name: str, base: type[S]) -> type[S]: ...
def settings_class(name: str, base: type[ServiceSettings] = ServiceSettings) -> type[ServiceSettings]:
    """A settings class reading `<NAME>_*` variables, with service_name fixed to `name`.

    Returns a subclass of `base` (typed as `base`): annotate values with `base`, not with the
    returned class, which a type checker cannot use as a type.
    """
    prefix = name.upper().replace("-", "_") + "_"

    class _Settings(base):  # type: ignore[misc, valid-type]
        model_config = SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)
        service_name: str = name

    _Settings.__name__ = f"{name.title()}Settings"
    return _Settings
