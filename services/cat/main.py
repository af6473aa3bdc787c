"""Cat service: the adaptive testing engine (internal gRPC only; HTTP serves health and metrics)."""
from __future__ import annotations

from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.cat import grpc_api
from services.cat.bank_events import BankChangeListener
from services.cat.engine.bank import BankCache
from services.cat.settings import CatSettings, Settings


def load_settings() -> CatSettings:
    """CAT_* variables, as the typed settings the rest of the service reads."""
    settings = Settings()
    if not isinstance(settings, CatSettings):
        raise TypeError("services.cat.settings.Settings must build CatSettings")
    return settings


def build(settings: CatSettings | None = None) -> ServiceRuntime:
    settings = settings or load_settings()
    app = create_app("cat", title="MegaCity CAT engine",
                     description="The adaptive testing engine (internal gRPC only; HTTP serves health and metrics).")
    cache = BankCache(max_items=settings.bank_cache_items)
    return ServiceRuntime(settings, app=app, grpc_registrars=[grpc_api.registrar(cache, settings)],
                          grpc_service_names=[grpc_api.SERVICE_NAME],
                          workers=[lambda res: BankChangeListener(res, cache)])
