"""Web service: the www., app. and admin. pages of every zone. It renders page shells in Korean
or English with the zone's brand and serves their assets; the browser calls api.<domain> itself
(access token in memory, refresh token in auth's HttpOnly cookie), so web holds no business
rules, no database and no user data."""
from __future__ import annotations

import inspect

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from megacity.errors import AppError
from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.web.arena import routes as arena
from services.web.classroom import routes as classroom
from services.web.console import routes as console
from services.web.i18n import N_
from services.web.kzone import routes as kzone
from services.web.parent import routes as parent
from services.web.public import routes as public
from services.web.settings import Settings, WebSettings
from services.web.shell import routes as shell
from services.web.site import PAGE_KINDS, site
from services.web.student import routes as student
from services.web.teacher import routes as teacher
from services.web.templating import render


def build(settings: WebSettings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("web", title="MegaCity Web",
                     description="The www., app. and admin. pages of every zone (HTML). Pages call only "
                                 "public `api.<domain>` endpoints from the browser.")
    app.add_middleware(GZipMiddleware, minimum_size=500)
    for router in (shell.router, public.www, public.app, student.router, teacher.router, classroom.router,
                   arena.router, kzone.router, parent.router, console.router):
        app.include_router(router)

    default_app_error = app.exception_handlers[AppError]
    default_http_error = app.exception_handlers[StarletteHTTPException]

    default_validation_error = app.exception_handlers[RequestValidationError]

    async def page_error(request: Request, exc: Exception) -> Response:
        """Browsers asking for a page get an HTML error page (a malformed id in a page's path is a
        page that does not exist); everything else problem JSON."""
        if isinstance(exc, RequestValidationError):
            status = 404
        else:
            status = exc.status if isinstance(exc, AppError) else getattr(exc, "status_code", 500)
        route = getattr(request.state, "host_route", None)
        wants_html = "text/html" in request.headers.get("accept", "")
        if wants_html and route is not None and route.prefix in PAGE_KINDS and status in (404, 405):
            page = render(request, site(request), "error.html", title=N_("Page not found"), status_code=404)
            if status == 405:  # a page is only ever read: say so, with the methods it takes
                page = render(request, site(request), "error.html", title=N_("Method not allowed"), status_code=405,
                              headers=getattr(exc, "headers", None))
            return page
        if isinstance(exc, RequestValidationError):
            handler = default_validation_error
        else:
            handler = default_app_error if isinstance(exc, AppError) else default_http_error
        answer = handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(AppError, page_error)
    app.add_exception_handler(RequestValidationError, page_error)
    app.add_exception_handler(StarletteHTTPException, page_error)
    return ServiceRuntime(settings, app=app)
