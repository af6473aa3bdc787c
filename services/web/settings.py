"""Web settings: WEB_* variables (see megacity.settings.ServiceSettings). web has no tables and
no business state: it renders page shells and serves their assets."""
from __future__ import annotations

from typing import ClassVar

from megacity.settings import ServiceSettings, settings_class


class WebSettings(ServiceSettings):
    keeps_tables: ClassVar[bool] = False  # no database URL needed (compose and k8s give none)
    # Language when neither ?lang=, the mc_lang cookie nor Accept-Language picks one.
    default_language: str = "ko"
    # Seconds browsers may keep the versioned assets (/static/<version>/...): they never change.
    asset_max_age_seconds: int = 31_536_000
    # The admin console's health page probes each service's /readyz over HTTP (ops data, not
    # business data): `health_targets` (name -> base URL, JSON in WEB_HEALTH_TARGETS) wins, else
    # `health_url_template` with {service} and {port} (the registry's HTTP port). Compose sets
    # http://{service}:{port}; k8s the service's cluster DNS name.
    health_targets: dict[str, str] = {}
    health_url_template: str = "http://127.0.0.1:{port}"

    def health_url(self, service: str, port: int) -> str:
        return self.health_targets.get(service) or self.health_url_template.format(service=service, port=port)


Settings = settings_class("web", base=WebSettings)
