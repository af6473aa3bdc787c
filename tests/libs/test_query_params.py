"""Unknown query parameters: `400 request.unknown_parameter` from the shared skeleton, for every
route (declared parameters, dependency parameters and aliases pass), documented in OpenAPI."""
from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import Depends, Query

from megacity.http_app import create_app


def _paging(limit: int = Query(10, ge=1), cursor: str | None = None) -> tuple[int, str | None]:
    return limit, cursor


def _app():
    app = create_app("qp-test", title="t", description="d")

    @app.get("/things")
    async def things(paging: Annotated[tuple[int, str | None], Depends(_paging)], name: str | None = None,
                     class_id: str | None = Query(None, alias="classId")) -> dict[str, object]:
        return {"limit": paging[0], "name": name, "class": class_id}

    @app.get("/plain")
    async def plain() -> dict[str, str]:
        return {"ok": "yes"}

    return app


@pytest.fixture
async def client():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://api.univprepai.com") as c:
        yield c


async def test_declared_parameters_pass(client) -> None:
    resp = await client.get("/things", params={"name": "kim", "limit": 5, "cursor": "x", "classId": "c"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"limit": 5, "name": "kim", "class": "c"}
    assert (await client.get("/plain")).status_code == 200


@pytest.mark.parametrize(("path", "query", "names"), [
    ("/things", "q=kim", ["q"]),
    ("/things", "name=kim&zz=1&q=2", ["q", "zz"]),
    ("/things", "class_id=c", ["class_id"]),  # the alias is the parameter, not the Python name
    ("/plain", "q=", ["q"]),
])
async def test_unknown_parameters_are_400(client, path: str, query: str, names: list[str]) -> None:
    resp = await client.get(f"{path}?{query}")
    assert resp.status_code == 400
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "request.unknown_parameter" and body["parameters"] == names


def test_openapi_documents_400_where_there_are_query_parameters() -> None:
    spec = _app().openapi()
    things = spec["paths"]["/things"]["get"]["responses"]
    assert things["400"]["content"]["application/problem+json"]["example"]["code"] == "request.unknown_parameter"
    assert "400" not in spec["paths"]["/plain"]["get"]["responses"]
    assert _app().openapi() is not None  # a second app documents its own spec too
