"""Regression tests for what issue #9's hostile-input campaign found in the shared skeleton:
NUL bytes and lone surrogates (422, nothing written), a 500 that dropped the keep-alive
connection, unparseable bodies, 405 without Allow, unbounded offsets."""
from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from megacity.testing import run_service

UNIV = "api.univprepai.com"


def assert_invalid(resp: httpx.Response, loc_start: list) -> None:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == "request.invalid" and body["status"] == 422
    assert body["errors"][0]["loc"][:len(loc_start)] == loc_start, body


@pytest.fixture
async def auth_client(test_db, namespace):
    async with run_service("auth", test_db, namespace, argon2_time_cost=1, argon2_memory_kib=1024,
                           argon2_parallelism=1) as rt:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers={"Host": UNIV}) as client:
            yield rt, client


@pytest.mark.parametrize("email", ["a\u0000@x.com", "a\ud800@x.com"])
async def test_nul_and_lone_surrogates_in_json_are_422_and_write_nothing(auth_client, test_db, email) -> None:
    rt, client = auth_client
    body = json.dumps({"email": email, "password": "Correct-Horse-9", "display_name": "N"})  # ensure_ascii escapes
    for path in ("/api/v1/auth/register", "/api/v1/auth/login"):
        resp = await client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert_invalid(resp, ["body", "email"])
    # raw (surrogatepass) bytes of a surrogate are caught too
    raw = b'{"email": "a\xed\xa0\x80@x.com", "password": "Correct-Horse-9"}'
    assert_invalid(await client.post("/api/v1/auth/login", content=raw, headers={"Content-Type": "application/json"}),
                   ["body", "email"])
    async with rt.resources.db()() as s:
        from sqlalchemy import text
        # nothing was written: no user, no audit row (the request never reached a handler)
        async with s.begin():
            await s.execute(text("SELECT set_config('app.zone_id', '1', true), set_config('app.role', 'super_admin', true)"))
            assert (await s.execute(text("SELECT count(*) FROM auth.users"))).scalar_one() == 0
            assert (await s.execute(text("SELECT count(*) FROM auth.audit_logs"))).scalar_one() == 0


async def test_nul_in_query_path_and_form_is_422(auth_client) -> None:
    _, client = auth_client
    assert_invalid(await client.get("/api/v1/auth/audit?action=a%00b"), ["query", "action"])
    assert_invalid(await client.get("/api/v1/users/a%00b"), ["path"])
    form = await client.post("/api/v1/auth/login", content=b"email=a%00%40x.com&password=x",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_invalid(form, ["body", "email"])
    # An ordinary escaped character is not refused.
    ok = await client.post("/api/v1/auth/login", json={"email": "caf\u00e9@x.com", "password": "Wrong-pass-1"})
    assert ok.status_code == 401


async def test_unparseable_bodies_are_documented_422(auth_client) -> None:
    _, client = auth_client
    for content in (b"{not json", b'{"email": "\xff\xfe"}'):
        resp = await client.post("/api/v1/auth/login", content=content, headers={"Content-Type": "application/json"})
        assert_invalid(resp, ["body"])


async def test_oversized_json_and_form_bodies_are_413_and_documented(auth_client) -> None:
    """The edge sets no body limit (it would buffer uploads): the skeleton refuses JSON and form
    bodies past MAX_BUFFERED_BODY_BYTES, whether declared or streamed without a length."""
    from megacity.request_text import MAX_BUFFERED_BODY_BYTES

    rt, client = auth_client
    big = b'{"email": "' + b"a" * MAX_BUFFERED_BODY_BYTES + b'"}'
    declared = await client.post("/api/v1/auth/login", content=big, headers={"Content-Type": "application/json"})

    async def chunks():
        for i in range(0, len(big), 1 << 20):
            yield big[i:i + (1 << 20)]

    streamed = await client.post("/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"})
    for resp in (declared, streamed):
        assert resp.status_code == 413 and resp.json()["code"] == "request.too_large", resp.text
    # A body just under the limit is read as usual (and fails validation, not size).
    assert (await client.post("/api/v1/auth/login", content=big[:MAX_BUFFERED_BODY_BYTES - 10],
                              headers={"Content-Type": "application/json"})).status_code == 422
    spec = (await client.get("/openapi.json")).json()
    login = spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "request.too_large" in json.dumps(login["413"])


async def test_405_names_the_allowed_methods(auth_client) -> None:
    _, client = auth_client
    resp = await client.request("TRACE", "/api/v1/auth/login")
    assert resp.status_code == 405 and resp.json()["code"] == "route.method_not_allowed"
    assert resp.headers["allow"] == "POST"


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, dict, bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {UNIV}\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


async def test_a_500_keeps_the_connection_usable(test_db, namespace) -> None:
    """Issue #9: after a 500 the server closed the keep-alive connection without saying so,
    and the edge's next request on it (someone else's) failed."""
    async with run_service("tenant", test_db, namespace) as rt:
        @rt.app.get("/test-only/boom")
        async def boom() -> None:
            raise RuntimeError("a bug")

        reader, writer = await asyncio.open_connection("127.0.0.1", rt.http_port)
        try:
            status, headers, body = await _exchange(reader, writer, "/test-only/boom")
            assert status == 500 and json.loads(body)["code"] == "internal.error"
            assert headers["content-type"] == "application/problem+json" and headers.get("connection") != "close"
            status, _, body = await _exchange(reader, writer, "/healthz")  # same connection
            assert status == 200 and json.loads(body)["status"] == "ok"
        finally:
            writer.close()


async def test_offsets_are_bounded(test_db, namespace, token_mint) -> None:
    async with run_service("tenant", test_db, namespace) as rt:
        token_mint.install(rt.app)
        token = token_mint.token(zone_id=1, role="org_admin", org_id=uuid.uuid4())
        headers = {"Host": UNIV, "Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=headers) as client:
            for path in ("/api/v1/rosters/students", "/api/v1/rosters/teachers", "/api/v1/rosters/parents",
                         f"/api/v1/orgs/{uuid.uuid4()}/members", "/api/v1/orgs"):
                resp = await client.get(path, params={"offset": 2**63})
                assert_invalid(resp, ["query", "offset"])
            at_bound = await client.get("/api/v1/rosters/students", params={"offset": 1_000_000})
            assert at_bound.status_code != 422 and at_bound.status_code < 500


async def test_unauthenticated_probe_with_nul_is_422_not_502(test_db, namespace) -> None:
    """The probe forwarded the NUL to tenant over gRPC; tenant's database refused it, the caller saw 502."""
    async with run_service("exam", test_db, namespace) as rt:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers={"Host": UNIV}) as client:
            resp = await client.post("/api/v1/diagnostics/probe", json={"note": "a\u0000b"})
            assert_invalid(resp, ["body", "note"])


async def test_json_nesting_depth_and_array_length_are_bounded(auth_client) -> None:
    """Issue #17 §6: past MAX_JSON_DEPTH levels or MAX_JSON_ARRAY_ITEMS items a JSON body is refused
    before any parse by the endpoint (a document nested a thousand deep used to reach the parser's
    recursion limit), with its own stable code; at the limits it is read as usual."""
    from megacity.request_limits import MAX_JSON_ARRAY_ITEMS, MAX_JSON_DEPTH

    _, client = auth_client
    json_headers = {"Content-Type": "application/json"}

    def nested(levels: int) -> bytes:
        return b'{"email": ' + b"[" * (levels - 1) + b"1" + b"]" * (levels - 1) + b"}"

    for levels, code in ((MAX_JSON_DEPTH + 1, "request.too_deep"), (5000, "request.too_deep"),
                         (MAX_JSON_DEPTH, "request.invalid")):
        resp = await client.post("/api/v1/auth/login", content=nested(levels), headers=json_headers)
        assert resp.status_code == 422 and resp.json()["code"] == code, (levels, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
    for items, code in ((MAX_JSON_ARRAY_ITEMS + 1, "request.too_many_items"), (MAX_JSON_ARRAY_ITEMS, "request.invalid")):
        body = json.dumps({"email": "a@x.com", "password": "p", "tags": [0] * items})
        resp = await client.post("/api/v1/auth/login", content=body, headers=json_headers)
        assert resp.status_code == (422 if code != "request.invalid" else 401), (items, resp.text)
        if code != "request.invalid":
            assert resp.json()["code"] == code
    spec = (await client.get("/openapi.json")).json()
    documented = json.dumps(spec["paths"]["/api/v1/auth/login"]["post"]["responses"]["422"])
    assert "request.too_deep" in documented and "request.too_many_items" in documented


async def test_query_string_length_is_bounded(auth_client) -> None:
    from megacity.request_limits import MAX_QUERY_BYTES

    _, client = auth_client
    resp = await client.get("/api/v1/admin/audit-logs", params={"action": "a" * MAX_QUERY_BYTES})
    assert resp.status_code == 414 and resp.json()["code"] == "request.query_too_long", resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    # Under the limit the operation answers as usual (here: no token).
    assert (await client.get("/api/v1/admin/audit-logs", params={"action": "a" * 100})).status_code == 401
    spec = (await client.get("/openapi.json")).json()
    audit = spec["paths"]["/api/v1/admin/audit-logs"]["get"]["responses"]
    assert "request.query_too_long" in json.dumps(audit["414"])
