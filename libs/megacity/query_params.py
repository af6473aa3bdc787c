"""Unknown query parameters are refused, for every operation of every service.

A misspelt or made-up parameter used to be ignored: `?q=kim` on the student list answered the
whole roster, as if the filter had applied. Now each request's query keys are checked against
the parameters its matched route declares (the route's FastAPI dependant, sub-dependencies
included) and anything else is `400 request.unknown_parameter`, naming the parameters.

`guard_query_parameters(app)` installs it: an app-wide dependency (so it runs for every route
the app includes afterwards, and knows the matched route, which a middleware does not) and a
generic 400 entry in the OpenAPI of every operation that takes query parameters (an operation
without any documents nothing: a query there is equally refused, like any unknown parameter).
WebSocket routes are not checked (their handshake parameters are the handler's business), nor
are routes whose class sets `open_query = True`: HTML pages (services/web), whose query
(`?next=`, `?lang=`, a campaign's tags) is read by the page's script or ignored, as browsers expect.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import HTTPConnection

from megacity.errors import AppError

UNKNOWN_PARAMETER = (400, "request.unknown_parameter", "The query has a parameter this operation does not take")

_CACHE_ATTR = "_megacity_query_parameters"  # computed once per route, kept on the route


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameter names (aliases) a route takes, its dependencies' included; a query
    parameter model (`Annotated[Model, Query()]`) contributes its fields."""
    found: frozenset[str] | None = getattr(route, _CACHE_ATTR, None)
    if found is None:
        names: set[str] = set()
        stack: list[Dependant] = [route.dependant]
        while stack:
            dependant = stack.pop()
            stack.extend(dependant.dependencies)
            for param in dependant.query_params:
                model = param.field_info.annotation
                if isinstance(model, type) and issubclass(model, BaseModel):
                    names.update(f.alias or name for name, f in model.model_fields.items())
                else:
                    names.add(param.alias)
        found = frozenset(names)
        setattr(route, _CACHE_ATTR, found)
    return found


def unknown_parameter(names: list[str]) -> AppError:
    return AppError(400, "request.unknown_parameter",
                    f"unknown query parameter{'s' if len(names) > 1 else ''}: {', '.join(names)}",
                    {"parameters": names})


async def reject_unknown_query_parameters(connection: HTTPConnection) -> None:
    """Dependency: 400 `request.unknown_parameter` when the query has a key the matched route
    does not declare."""
    if connection.scope.get("type") != "http" or not connection.scope.get("query_string"):
        return
    route = connection.scope.get("route")
    if not isinstance(route, APIRoute) or getattr(route, "open_query", False):
        return
    allowed = declared_query_parameters(route)
    unknown = sorted({key for key in connection.query_params if key not in allowed})
    if unknown:
        raise unknown_parameter([name.replace("\x00", "\\x00")[:100] for name in unknown[:20]])


def _document_400(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    from megacity.http_app import problems

    last: list[dict[str, Any]] = []  # the spec already documented (the app caches it)

    def openapi() -> dict[str, Any]:
        spec = generate()
        if not last or last[0] is not spec:
            for operations in spec.get("paths", {}).values():
                for op in operations.values():
                    if not isinstance(op, dict) or not any(p.get("in") == "query" for p in op.get("parameters", [])):
                        continue
                    responses = op.setdefault("responses", {})
                    responses["400"] = problems({400: responses["400"]} if "400" in responses else {},
                                                UNKNOWN_PARAMETER)[400]
            last[:] = [spec]
        return spec

    return openapi


def guard_query_parameters(app: FastAPI) -> None:
    """Refuse unknown query parameters on every route `app` gets from here on, and document it."""
    app.router.dependencies.append(Depends(reject_unknown_query_parameters))
    app.openapi = _document_400(app.openapi)  # type: ignore[method-assign]
