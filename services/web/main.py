"""Web service: the www., app. and admin. pages of every zone. It renders page shells in Korean
or English with the zone's brand and serves their assets; the browser calls api.<domain> itself
(access token in memory, refresh token in auth's HttpOnly cookie), so web holds no business
rules, no database and no user data."""
from __future__ import annotations

import importlib
import inspect

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from megacity.errors import AppError
from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.web.i18n import N_
from services.web.public import routes as public
from services.web.settings import Settings, WebSettings
from services.web.shell import routes as shell
from services.web.site import PAGE_KINDS
from services.web.templating import render

# INTERIM (lead): page packages included when present while helpers build them.
PAGE_PACKAGES = ("student", "teacher", "classroom", "arena", "parent", "console")


def build(settings: WebSettings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("web", title="MegaCity Web",
                     description="The www., app. and admin. pages of every zone (HTML). Pages call only "
                                 "public `api.<domain>` endpoints from the browser.")
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.include_router(shell.router)
    app.include_router(public.www)
    app.include_router(public.app)
    for name in PAGE_PACKAGES:
        try:
            module = importlib.import_module(f"services.web.{name}.routes")
        except ModuleNotFoundError:
            continue
        for attr in ("router", "www", "app", "admin"):
            if hasattr(module, attr):
                app.include_router(getattr(module, attr))

    default_app_error = app.exception_handlers[AppError]
    default_http_error = app.exception_handlers[StarletteHTTPException]

    async def page_error(request: Request, exc: Exception) -> Response:
        """Browsers asking for a page get an HTML error page; everything else problem JSON."""
        status = exc.status if isinstance(exc, AppError) else getattr(exc, "status_code", 500)
        route = getattr(request.state, "host_route", None)
        wants_html = "text/html" in request.headers.get("accept", "")
        if wants_html and route is not None and route.prefix in PAGE_KINDS and status in (404, 405):
            from services.web.site import site

            return render(request, site(request), "error.html", title=N_("Page not found"), status_code=status)
        handler = default_app_error if isinstance(exc, AppError) else default_http_error
        answer = handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(AppError, page_error)
    app.add_exception_handler(StarletteHTTPException, page_error)
    return ServiceRuntime(settings, app=app)
