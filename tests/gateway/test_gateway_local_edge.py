"""The native edge (real Traefik via LocalEdge) in front of small real upstreams: host and path
routing for all nine zones (pages to web, APIs to their owners), admin allow-list, edge problem
answers, rate limit, headers, CORS and CSP on both the HTTP and the HTTPS port."""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from gateway import policy
from gateway.local_edge import EdgeConfig, LocalEdge
from gateway.routes import api_services
from megacity.zones import registry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with which upstream it is and what it received."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        body = json.dumps({"upstream": self.server.name, "host": self.headers.get("Host"), "path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        status = 429 if self.path.endswith("/throttled") else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_OPTIONS = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    """One echo server per service the edge proxies to: service -> "127.0.0.1:port"."""
    servers = []
    for name in api_services(registry()):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
        server.daemon_threads = True
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield {s.name: f"127.0.0.1:{s.server_address[1]}" for s in servers}  # type: ignore[attr-defined]
    for s in servers:
        s.shutdown()
        s.server_close()


def _edge(tmp: Path, **cfg: object) -> LocalEdge:
    return LocalEdge(EdgeConfig(listen_port=free_port(), **cfg), state_dir=tmp).start()


@pytest.fixture(scope="module")
def edge(upstreams: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEdge]:
    state = tmp_path_factory.mktemp("edge")
    static = state / "static" / "univ"
    static.mkdir(parents=True)
    (static / "hello.txt").write_text("hello static\n")
    e = _edge(state, upstreams=upstreams)
    yield e
    e.stop()


def get(edge: LocalEdge, host: str, path: str, **kw: object) -> httpx.Response:
    headers = {"Host": host, **kw.pop("headers", {})}  # type: ignore[dict-item]
    transport = kw.pop("transport", None)
    with httpx.Client(base_url=edge.url, transport=transport, timeout=10) as client:  # type: ignore[arg-type]
        return client.get(path, headers=headers, **kw)  # type: ignore[arg-type]


def assert_problem(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(policy.PROBLEM_CONTENT_TYPE)
    body = resp.json()
    assert body["status"] == status and body["code"] == code and body["type"] == "about:blank"


@pytest.mark.parametrize("zone", [z.key for z in registry().zones])
def test_api_hosts_route_paths_to_owning_service(edge: LocalEdge, zone: str) -> None:
    reg = registry()
    z = reg.zone(zone)
    for domain in z.domains:
        for path in ("/api/v1/exams/x", "/api/v1/auth/login", "/api/v1/kzone/x", "/", "/healthz", "/api/v1/authx"):
            resp = get(edge, f"api.{domain}", path)
            assert resp.status_code == 200, (domain, path, resp.text)
            seen = resp.json()
            assert seen["upstream"] == reg.service_for_path(z, path), (domain, path)
            assert seen["host"] == f"api.{domain}" and seen["path"] == path


def test_path_prefixes_are_segment_bounded(edge: LocalEdge) -> None:
    z = registry().zone("univ")
    assert get(edge, "api.univprepai.com", "/api/v1/authx").json()["upstream"] == z.api_service
    assert get(edge, "api.univprepai.com", "/api/v1/auth").json()["upstream"] == "auth"


def test_proxy_headers_trace_context_and_websocket_upgrade_pass_through(edge: LocalEdge) -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    resp = get(edge, "api.univprepai.com", "/api/v1/exams/1", headers={
        "traceparent": trace, "X-Request-Id": "req-123", "Upgrade": "websocket", "Connection": "Upgrade"})
    seen = resp.json()["headers"]
    assert seen["traceparent"] == trace and seen["x-request-id"] == "req-123"
    assert seen["upgrade"] == "websocket" and seen["connection"].lower() == "upgrade"
    assert seen["x-forwarded-for"] == "127.0.0.1" and seen["x-real-ip"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "ws"  # Traefik names the upgraded scheme; uvicorn maps it back
    # Plain requests must not send `Connection: close` upstream (keepalive pool).
    plain = get(edge, "api.univprepai.com", "/api/v1/exams/1").json()["headers"]
    assert "upgrade" not in plain and plain.get("connection", "") != "close"
    assert plain["x-forwarded-proto"] == "http" and plain["x-forwarded-host"] == "api.univprepai.com"


def test_unknown_host_is_problem_404(edge: LocalEdge) -> None:
    resp = get(edge, "api.example.org", "/api/v1/exams")
    assert_problem(resp, 404, "edge.unknown_host")
    for name, value in policy.SECURITY_HEADERS.items():
        assert resp.headers[name] == value


def test_metrics_are_not_public(edge: LocalEdge) -> None:
    assert_problem(get(edge, "api.univprepai.com", "/metrics"), 404, "edge.not_found")


def test_security_headers_on_proxied_and_edge_answers(edge: LocalEdge) -> None:
    for host, path in [("api.univprepai.com", "/api/v1/exams/1"), ("static.univprepai.com", "/hello.txt")]:
        resp = get(edge, host, path)
        assert resp.status_code == 200, (host, resp.text)
        for name, value in policy.SECURITY_HEADERS.items():
            assert resp.headers[name] == value, (host, name)
    # Pages keep every header but get the CSP that lets them call their api. and load from static,
    # on the HTTP port and on the HTTPS one (browsers sign in there: the refresh cookie is Secure).
    page = get(edge, "www.my-ktube.ai", "/")
    bases = (("http", edge.port), ("https", edge.tls_port))
    for name, value in policy.SECURITY_HEADERS.items():
        expected = policy.page_csp("my-ktube.ai", bases) if name == "Content-Security-Policy" else value
        assert page.headers[name] == expected, name
    csp = page.headers["Content-Security-Policy"]
    assert (f"connect-src 'self' http://api.my-ktube.ai:{edge.port} https://api.my-ktube.ai:{edge.tls_port} "
            f"ws://api.my-ktube.ai:{edge.port} wss://api.my-ktube.ai:{edge.tls_port};") in csp
    assert f"script-src 'self' http://static.my-ktube.ai:{edge.port} https://static.my-ktube.ai:{edge.tls_port};" in csp
    assert "frame-ancestors 'none'" in csp


@pytest.mark.parametrize("host", ["www.my-ktube.ai", "app.my-ktube.ai", "app.univprepai.com", "www.dreamseedai.com"])
def test_page_hosts_reach_web_with_the_host_unchanged(edge: LocalEdge, host: str) -> None:
    """Every path of www./app. is web's (web resolves zone and kind from the Host); the edge's
    old placeholder JSON is gone."""
    for path in ("/", "/some/page?x=1", "/static/js/mc.js", "/api/v1/exams"):
        seen = get(edge, host, path).json()
        assert seen["upstream"] == "web" and seen["host"] == host and seen["path"] == path, (host, path)
    assert_problem(get(edge, host, "/metrics"), 404, "edge.not_found")  # web's metrics stay inside
    with httpx.Client(base_url=edge.tls_url, verify=False, timeout=10) as client:
        seen = client.get("/exams", headers={"Host": host}).json()
    assert seen["upstream"] == "web" and seen["host"] == host and seen["headers"]["x-forwarded-proto"] == "https"


def test_page_host_down_is_problem_503(upstreams: dict[str, str], tmp_path: Path) -> None:
    e = _edge(tmp_path, upstreams={**upstreams, "web": f"127.0.0.1:{free_port()}"})
    try:
        assert_problem(get(e, "app.univprepai.com", "/exams"), 503, "edge.upstream_unavailable")
        assert get(e, "api.univprepai.com", "/api/v1/exams/1").json()["upstream"] == "exam"
    finally:
        e.stop()


def test_static_host(edge: LocalEdge) -> None:
    static = get(edge, "static.univprepai.com", "/hello.txt")
    assert static.text == "hello static\n" and static.headers["content-type"].startswith("text/plain")
    assert_problem(get(edge, "static.univprepai.com", "/missing.png"), 404, "edge.not_found")


@pytest.fixture(scope="module")
def tight_edge(upstreams: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEdge]:
    """The edge rendered from the registry with every limit cut to 5/min, burst 3: the real
    ceilings are sized for a school behind one address (thousands a minute)."""
    reg = registry()
    tight = reg.model_copy(update={"rate_limits": [rl.model_copy(update={"rate": 5, "burst": 3})
                                                   for rl in reg.rate_limits]})
    e = LocalEdge(EdgeConfig(listen_port=free_port(), upstreams=upstreams), tmp_path_factory.mktemp("tight"),
                  reg=tight).start()
    yield e
    e.stop()


def _hammer(edge: LocalEdge, host: str, path: str, n: int = 12) -> list[httpx.Response]:
    answers = []
    for _ in range(n):
        answers.append(get(edge, host, path))
        if answers[-1].status_code == 429:
            break
    return answers


def test_edge_ceilings_are_sized_for_a_school_behind_one_address() -> None:
    """A class of 40 logs in at once and every page load and API call of a school fits."""
    limits = {rl.name: rl for rl in registry().rate_limits}
    assert limits["login"].burst >= 40 and limits["login"].rate >= 300
    assert limits["api"].burst >= 40 * 10 and limits["api"].rate >= 6000
    assert limits["app"].burst >= 40 * 10


def test_page_rate_limit_answers_problem_429_after_burst(tight_edge: LocalEdge) -> None:
    answers = _hammer(tight_edge, "app.mpcstudy.com", "/some/page")
    assert answers[0].status_code == 200 and answers[-1].status_code == 429, [a.status_code for a in answers]
    assert_problem(answers[-1], 429, "edge.rate_limited")
    assert answers[-1].headers["Retry-After"] == str(policy.RATE_LIMIT_RETRY_AFTER)
    assert answers[-1].headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/api/v1/exams/1", "/api/v1/auth/login"])
def test_api_ceiling_is_plain_429_with_retry_after(tight_edge: LocalEdge, path: str) -> None:
    """On API routes the edge's flood ceiling is Traefik's own 429 (with Retry-After): the
    problem-JSON rewrite would also swallow the services' own 429s."""
    answers = _hammer(tight_edge, "api.dreamseedai.com", path)
    assert answers[0].status_code == 200 and answers[-1].status_code == 429, [a.status_code for a in answers]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("service_path", ["/api/v1/auth/throttled", "/api/v1/exams/throttled",
                                          "/api/v1/orgs/throttled"])
def test_services_own_429_passes_through(edge: LocalEdge, service_path: str) -> None:
    """Every service answers 429 itself (rate_limit.exceeded per account and org, auth's login
    guard): body and headers reach the client as the service sent them."""
    own = get(edge, "api.collegeprepai.com", service_path)
    assert own.status_code == 429 and own.json()["upstream"] == registry().service_for_path(
        registry().zone("college"), service_path)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_cors_allows_only_the_zones_own_pages(edge: LocalEdge, scheme: str) -> None:
    port = edge.port if scheme == "http" else edge.tls_port
    origin = f"{scheme}://app.univprepai.com:{port}"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,x-requested-with"}
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        ok = client.options("/api/v1/exams", headers={"Host": "api.univprepai.com", **preflight})
        assert ok.status_code == 200
        assert ok.headers["Access-Control-Allow-Origin"] == origin
        assert ok.headers["Access-Control-Allow-Credentials"] == "true"
        assert "POST" in ok.headers["Access-Control-Allow-Methods"]
        allowed = ok.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "x-requested-with" in allowed
        assert ok.headers["Access-Control-Max-Age"] == str(policy.CORS_MAX_AGE_SECONDS)
        # Another zone's page, or any other site, gets nothing to work with.
        for stranger in (f"{scheme}://app.mpcstudy.com:{port}", "https://evil.example", "null",
                         f"{scheme}://app.univprepai.com:{free_port()}"):
            refused = client.options("/api/v1/exams", headers={"Host": "api.univprepai.com", **preflight,
                                                               "Origin": stranger})
            assert "Access-Control-Allow-Origin" not in refused.headers, stranger
        simple = client.get("/api/v1/exams/1", headers={"Host": "api.univprepai.com", "Origin": origin})
        assert simple.headers["Access-Control-Allow-Origin"] == origin and "Origin" in simple.headers["Vary"]
        # What a page may read of the answer: a 429's Retry-After, a download's file name.
        exposed = {h.strip().lower() for h in simple.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"retry-after", "content-disposition", "x-request-id"} <= exposed
        assert simple.json()["upstream"] == "exam"


def test_https_entry_point_serves_the_same_routes(edge: LocalEdge) -> None:
    with httpx.Client(base_url=edge.tls_url, verify=False, timeout=10) as client:
        resp = client.get("/api/v1/exams/1", headers={"Host": "api.univprepai.com"})
    assert resp.status_code == 200 and resp.json()["headers"]["x-forwarded-proto"] == "https"


def test_admin_host_allow_list(upstreams: dict[str, str], tmp_path: Path) -> None:
    e = _edge(tmp_path, upstreams=upstreams, admin_allow_list=["127.0.0.2/32"])
    try:
        for path in ("/api/v1/exams/1", "/", "/audit"):  # the API and the console alike
            assert_problem(get(e, "admin.univprepai.com", path), 403, "edge.admin_forbidden")
        inside = httpx.HTTPTransport(local_address="127.0.0.2")
        allowed = get(e, "admin.univprepai.com", "/api/v1/exams/1", transport=inside)
        assert allowed.status_code == 200 and allowed.json()["upstream"] == "exam"
        # The console (admin.'s non-API paths) is web's, Host unchanged, with the pages' CSP.
        console = get(e, "admin.univprepai.com", "/audit?action=login", transport=inside)
        assert console.json()["upstream"] == "web" and console.json()["host"] == "admin.univprepai.com"
        assert console.json()["path"] == "/audit?action=login"
        assert console.headers["Content-Security-Policy"] == policy.page_csp(
            "univprepai.com", (("http", e.port), ("https", e.tls_port)))
        assert get(e, "admin.univprepai.com", "/api/v1/zone", transport=inside).json()["upstream"] == "tenant"
        # The api. host of the same zone is not behind the allow-list.
        assert get(e, "api.univprepai.com", "/api/v1/exams/1").status_code == 200
    finally:
        e.stop()


def test_upstream_down_is_problem_503(upstreams: dict[str, str], tmp_path: Path) -> None:
    e = _edge(tmp_path, upstreams={**upstreams, "exam": f"127.0.0.1:{free_port()}"})
    try:
        assert_problem(get(e, "api.univprepai.com", "/api/v1/exams/1"), 503, "edge.upstream_unavailable")
        assert get(e, "api.univprepai.com", "/api/v1/auth/me").status_code == 200
    finally:
        e.stop()


def test_client_cannot_choose_its_forwarded_address(edge: LocalEdge) -> None:
    """Issue #9: the edge writes X-Forwarded-For itself; a client's own header never passes."""
    seen = get(edge, "api.univprepai.com", "/api/v1/exams/1", headers={"X-Forwarded-For": "203.0.113.66"}).json()
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"


def test_edge_refuses_trace_and_connect_with_problem_json(edge: LocalEdge) -> None:
    """Issue #9: the edge's own 405 is problem JSON with an Allow header; TRACE never reaches a service."""
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        trace = client.request("TRACE", "/api/v1/exams/1", headers={"Host": "api.univprepai.com"})
    assert_problem(trace, 405, "edge.method_not_allowed")
    assert "GET" in trace.headers["Allow"] and "TRACE" not in trace.headers["Allow"]
    assert trace.headers["X-Frame-Options"] == "DENY"


def test_oversized_request_headers_are_431_at_the_edge(edge: LocalEdge) -> None:
    """Issue #17 §6: header size is bounded at the edge (entry point `http.maxHeaderBytes`), on the
    HTTP and the HTTPS port; headers under the limit (a large cookie) pass to the service."""
    from gateway.traefik import MAX_HEADER_BYTES

    under = get(edge, "api.univprepai.com", "/api/v1/exams/1", headers={"Cookie": "c=" + "x" * (MAX_HEADER_BYTES // 2)})
    assert under.status_code == 200 and under.json()["upstream"] == "exam"
    for url in (edge.url, edge.tls_url):
        with httpx.Client(base_url=url, timeout=10, verify=False) as client:
            resp = client.get("/api/v1/exams/1", headers={"Host": "api.univprepai.com",
                                                           "Cookie": "c=" + "x" * (MAX_HEADER_BYTES + 8192)})
        assert resp.status_code == 431, (url, resp.status_code, resp.text[:200])
