"""Cat service: the adaptive testing engine (internal gRPC only; HTTP serves health and metrics)."""
from __future__ import annotations

import inspect

from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.cat import grpc_api
from services.cat.bank_events import BankChangeListener
from services.cat.engine.bank import BankCache
from services.cat.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("cat", title="MegaCity CAT engine",
                     description="The adaptive testing engine (internal gRPC only; HTTP serves health and metrics).")
    cache = BankCache(max_items=settings.bank_cache_items)
    app.state.bank_cache = cache
    kwargs = {}
    if "workers" in inspect.signature(ServiceRuntime.__init__).parameters:
        kwargs["workers"] = [lambda res: BankChangeListener(res, cache)]
    return ServiceRuntime(settings, app=app, grpc_registrars=[grpc_api.registrar(cache)],
                          grpc_service_names=[grpc_api.SERVICE_NAME], **kwargs)
