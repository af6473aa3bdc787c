"""Which site a request is for: the zone and the host kind (www, app, admin) from its Host
header (the registry resolves it), and the origins the page's JavaScript talks to. Every page
route is on a `page_router(kind)`, so a page exists on exactly one kind of host."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from megacity.errors import AppError
from megacity.http_app import host_route
from megacity.zones import Zone

PAGE_KINDS = ("www", "app", "admin")


@dataclass(frozen=True)
class Site:
    zone: Zone
    kind: str  # www | app | admin
    domain: str
    scheme: str
    port: str  # ":8443" when the request named a port, else ""

    def origin(self, kind: str) -> str:
        """`https://<kind>.<domain>[:port]`: the zone's other hosts, on the scheme and port this
        page came in on (so local runs with ports work like production)."""
        return f"{self.scheme}://{kind}.{self.domain}{self.port}"

    @property
    def api(self) -> str:
        return self.origin("api")


def site(request: Request) -> Site:
    """Dependency: the page site of the request's Host; any other host is 404 `web.unknown_site`."""
    route = host_route(request)
    if route is None or route.prefix not in PAGE_KINDS:
        raise AppError(404, "web.unknown_site", f"no pages are served on host {request.headers.get('host')!r}")
    named = request.headers.get("host", "").rpartition(":")[2] if ":" in request.headers.get("host", "") else ""
    port = f":{named}" if named.isdigit() and len(named) <= 5 else ""
    # Behind the edge, uvicorn's proxy headers give the scheme the browser used.
    return Site(zone=route.zone, kind=route.prefix, domain=route.host.split(".", 1)[1],
                scheme=request.url.scheme, port=port)


SiteDep = Annotated[Site, Depends(site)]


class _KindRoute(APIRoute):
    """A page route that matches only on its kind of host, so `/` can be www's landing page,
    app's home and admin's console (the router tries the next route on another host)."""

    kind: ClassVar[str] = ""
    # Pages take any query (`?next=`, `?lang=`, campaign tags): megacity.query_params skips them.
    open_query: ClassVar[bool] = True

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        methods = kwargs.get("methods")
        if methods and "GET" in methods:  # a page answers HEAD too (link checkers, monitors)
            kwargs["methods"] = {*methods, "HEAD"}
        super().__init__(path, endpoint, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        route = scope.get("state", {}).get("host_route")
        if route is None or route.prefix != self.kind:
            return Match.NONE, {}
        return super().matches(scope)


def page_router(kind: str) -> APIRouter:
    """A router whose pages answer only on `kind` hosts (elsewhere the path is 404)."""
    assert kind in PAGE_KINDS
    route_class = type(f"{kind.title()}Route", (_KindRoute,), {"kind": kind})
    return APIRouter(route_class=route_class, tags=[kind])


def page_routes(routes: list[Any]) -> Iterator[_KindRoute]:
    """Every page route of an app (FastAPI keeps included routers nested)."""
    for route in routes:
        if isinstance(route, _KindRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from page_routes(route.original_router.routes)
