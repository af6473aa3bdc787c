"""Requests through the real local edge (Traefik rendered from the registry) land on the right
service with the right zone: APIs on their owners, www./app. pages and the admin console on web;
admin hosts are allow-listed; unknown hosts get a JSON 404."""
from __future__ import annotations

import contextlib

import httpx
import pytest

from gateway import policy
from gateway.local_edge import EdgeConfig, LocalEdge
from megacity.testing import run_service
from megacity.zones import registry

PUBLIC = ("auth", "tenant", "exam", "kzone", "classroom", "arena", "web")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def mesh(test_db, namespace, tmp_path):
    async with contextlib.AsyncExitStack() as stack:
        runtimes = {name: await stack.enter_async_context(run_service(name, test_db, namespace)) for name in PUBLIC}
        cfg = EdgeConfig(listen_port=_free_port(), admin_allow_list=["127.0.0.2/32"],
                         upstreams={n: f"127.0.0.1:{rt.http_port}" for n, rt in runtimes.items()})
        with LocalEdge(cfg, tmp_path / "edge") as edge:
            yield edge


async def test_every_api_host_routes_to_the_owning_service_with_its_zone(mesh) -> None:
    reg = registry()
    async with httpx.AsyncClient(base_url=mesh.url) as client:
        for zone in reg.zones:
            host = f"api.{zone.domains[0]}"
            resp = await client.get("/api/v1/zone", headers={"Host": host})
            assert resp.status_code == 200, (host, resp.text)
            assert resp.json()["key"] == zone.key and resp.headers["x-served-by"] == "tenant"
            for path, service in [("/api/v1/auth/whoever", "auth"), ("/api/v1/exams/x/unknown", "exam"),
                                  ("/api/v1/kzone/x", "kzone"), ("/api/v1/classroom/nowhere/x", "classroom"),
                                  ("/api/v1/arena/nowhere/x", "arena"),
                                  ("/somewhere/else", zone.api_service)]:
                resp = await client.get(path, headers={"Host": host})
                assert resp.headers.get("x-served-by") == service, (host, path, resp.status_code, resp.text)
                assert resp.headers["x-zone"] == zone.key
                assert resp.json()["code"] == "route.not_found"
            assert "max-age" in resp.headers["strict-transport-security"]
            assert resp.headers["x-content-type-options"] == "nosniff"


async def test_page_hosts_are_served_by_web_with_their_zone(mesh) -> None:
    """www. and app. of every zone reach web with the Host intact (web answers as that zone), in
    HTML, with the pages' CSP naming the HTTP and the HTTPS port of this edge."""
    reg = registry()
    bases = (("http", mesh.port), ("https", mesh.tls_port))
    async with httpx.AsyncClient(base_url=mesh.url) as client:
        for zone in reg.zones:
            for prefix in ("www", "app"):
                host = f"{prefix}.{zone.domains[0]}"
                resp = await client.get("/", headers={"Host": host, "Accept": "text/html"})
                assert resp.status_code == 200, (host, resp.text[:300])
                assert resp.headers["x-served-by"] == "web" and resp.headers["x-zone"] == zone.key, host
                assert resp.headers["content-type"].startswith("text/html")
                assert resp.headers["content-security-policy"] == policy.page_csp(zone.domains[0], bases)
                assert resp.headers["x-frame-options"] == "DENY"
            metrics = await client.get("/metrics", headers={"Host": f"app.{zone.domains[0]}"})
            assert metrics.status_code == 404 and metrics.json()["code"] == "edge.not_found"
    async with httpx.AsyncClient(base_url=mesh.tls_url, verify=False) as client:  # where browsers sign in
        resp = await client.get("/signin", headers={"Host": "www.univprepai.com", "Accept": "text/html"})
        assert resp.status_code == 200 and resp.headers["x-served-by"] == "web"


async def test_admin_host_is_allow_listed(mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url) as client:
        resp = await client.get("/api/v1/zone", headers={"Host": "admin.univprepai.com"})
        assert resp.status_code == 403 and resp.json()["code"] == "edge.admin_forbidden"
        console = await client.get("/", headers={"Host": "admin.univprepai.com", "Accept": "text/html"})
        assert console.status_code == 403 and console.json()["code"] == "edge.admin_forbidden"
        assert "x-served-by" not in console.headers
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=mesh.url, transport=transport) as client:
        resp = await client.get("/api/v1/zone", headers={"Host": "admin.univprepai.com"})
        assert resp.status_code == 200 and resp.json()["key"] == "univ"
        # Everything but the API on admin. is the console: web's, as that zone.
        console = await client.get("/", headers={"Host": "admin.univprepai.com", "Accept": "text/html"})
        assert console.headers["x-served-by"] == "web" and console.headers["x-zone"] == "univ"
        assert console.headers["content-type"].startswith("text/html")


async def test_unknown_host_is_a_json_404(mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url) as client:
        for host in ("api.example.com", "univprepai.com", "127.0.0.1"):
            resp = await client.get("/api/v1/zone", headers={"Host": host})
            assert resp.status_code == 404
            assert resp.json()["code"] == "edge.unknown_host"
            assert "x-served-by" not in resp.headers
