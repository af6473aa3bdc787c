"""Generated edge/deploy files are current and consistent with the zone registry."""
from __future__ import annotations

import importlib
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from gateway import __main__ as gateway_cli
from gateway import policy, traefik
from gateway.local_edge import traefik_bin
from gateway.routes import api_services, path_routes
from megacity.zones import registry

ROOT = Path(__file__).resolve().parents[2]
# Mounted by every public service on purpose (megacity.job_progress reads Redis only), so the
# zone's default service answers it: not an owned prefix.
SHARED_API_PREFIXES = ("/api/v1/jobs/",)


def test_generated_files_are_current() -> None:
    """`python -m gateway check`: regenerate with `python -m gateway generate`."""
    assert gateway_cli.stale() == []
    assert gateway_cli.main(["check"]) == 0


def test_check_reports_a_stale_file(tmp_path: Path) -> None:
    gateway_cli.generate(tmp_path)
    assert gateway_cli.stale(tmp_path) == []
    (tmp_path / "gateway/traefik/dynamic/routes.yml").write_text("# hand edit\n")
    assert gateway_cli.stale(tmp_path) == ["gateway/traefik/dynamic/routes.yml"]


def test_traefik_routes_every_host_and_references_exist() -> None:
    reg = registry()
    dynamic = yaml.safe_load((ROOT / "gateway/traefik/dynamic/routes.yml").read_text())["http"]
    routers, services, middlewares = dynamic["routers"], dynamic["services"], dynamic["middlewares"]
    hosts = {h for r in routers.values() for h in re.findall(r"Host\(`([^`]+)`\)", r["rule"])}
    assert hosts == {r.host for r in reg.host_routes()} | {reg.edge.objects_host}
    for name, router in routers.items():
        assert router["service"] in services, name
        assert set(router["middlewares"]) <= set(middlewares), name
        assert router["entryPoints"] == ["websecure"]
    assert routers["unknown-host"]["priority"] == min(r["priority"] for r in routers.values())
    assert routers["refused-methods"]["priority"] == max(r["priority"] for r in routers.values())
    # No router may point at a service that is not in this repository (the old frontend-<zone>).
    assert set(services) == ({f"svc-{n}" for n in ("auth", "tenant", "exam", "kzone", "classroom", "arena", "web")}
                             | {"objects", "objects-presigned", "edge-answers"})
    # Presigned URLs: the public objects host reaches S3 with its Host header intact.
    presigned = routers["objects-presigned"]
    assert presigned["rule"] == f"Host(`{reg.edge.objects_host}`)"
    assert services[presigned["service"]]["loadBalancer"].get("passHostHeader", True) is True
    assert middlewares["security-headers"]["headers"]["customResponseHeaders"] == policy.SECURITY_HEADERS
    for rl in reg.rate_limits:
        assert middlewares[f"ratelimit-{rl.name}"]["rateLimit"] == {"average": rl.rate, "period": "1m", "burst": rl.burst}


def test_traefik_api_routers_match_registry_ownership() -> None:
    reg = registry()
    routers = traefik.dynamic_config(reg)["http"]["routers"]
    for route in reg.host_routes():
        if route.kind not in ("api", "admin"):
            continue
        for pr in path_routes(reg, route):
            if route.kind == "admin" and pr.prefix == "/":
                continue  # admin console + /api router, checked below
            clients = list(reg.admin_allow_list) if route.kind == "admin" else None
            rule = traefik._rule(route.host, pr.prefix, clients)
            matching = [r for r in routers.values() if r["rule"] == rule]
            assert len(matching) == 1, rule
            service = reg.service_for_path(route.zone, pr.prefix)
            assert matching[0]["service"] == f"svc-{service}"
            expected_limit = [f"ratelimit-{pr.rate_limit.name}"] if pr.rate_limit else []
            assert [m for m in matching[0]["middlewares"] if m.startswith("ratelimit-")] == expected_limit
            # Every service answers its own 429s (rate_limit.exceeded, auth's guard, with their
            # Retry-After and RateLimit-* fields): the edge must not rewrite them on API routes.
            assert "edge-rate-limited" not in matching[0]["middlewares"], rule
            assert f"cors-{route.zone.key}" in matching[0]["middlewares"]
        if route.kind == "admin":
            refused = [r for r in routers.values() if r["rule"] == f"Host(`{route.host}`)"]
            assert len(refused) == 1 and refused[0]["priority"] == traefik.PRIORITY_ADMIN_REFUSED
            assert "admin-forbidden" in refused[0]["middlewares"]


@pytest.mark.parametrize("service", [n for n in registry().services if n in api_services(registry())
                                     and n != registry().pages_service])
def test_every_api_route_of_a_service_is_routed_to_it(service: str) -> None:
    """Each path a public service serves under /api (or /.well-known) reaches that service through
    the edge on every zone's api./admin. hosts: a new prefix not in `api_paths` would fall to the
    zone's default service and answer 404 there (tenant's /api/v1/notifications once did)."""
    main = importlib.import_module(f"services.{service}.main")
    settings = importlib.import_module(f"services.{service}.settings").Settings(environment="test")
    reg = registry()
    paths = set(main.build(settings).app.openapi()["paths"])
    misrouted = sorted({(path, z.key, reg.service_for_path(z, path)) for path in paths
                        if path.startswith(("/api/", "/.well-known/")) and not path.startswith(SHARED_API_PREFIXES)
                        for z in reg.zones
                        if reg.service_for_path(z, path) != service})
    assert not misrouted, f"add their prefixes to api_paths in zones.yaml: {misrouted}"


def test_page_hosts_and_the_admin_console_go_to_the_pages_service() -> None:
    """www./app. (every path) and admin.'s non-API paths reach web with the Host unchanged (web
    resolves zone and kind from it), under the pages' CSP, 502/504 as problem JSON and the page
    hosts' flood ceiling; admin's console only from the allow-list; web's /metrics stays inside.
    The edge's old placeholder page (`frontend-<zone>`, `/_edge/frontend/…`) is gone."""
    reg = registry()
    dynamic = traefik.dynamic_config(reg)["http"]
    routers, services, middlewares = dynamic["routers"], dynamic["services"], dynamic["middlewares"]
    assert reg.pages_service == "web"
    assert services["svc-web"]["loadBalancer"].get("passHostHeader", True) is True
    assert services["svc-web"]["loadBalancer"]["servers"] == [{"url": "http://web:8109"}]
    assert not [m for m in middlewares if m.startswith("frontend-")]
    assert "/_edge/frontend" not in yaml.safe_dump(dynamic)
    for route in reg.host_routes():
        zone = route.zone.key
        if route.kind == "pages":
            host_routers = {n: r for n, r in routers.items() if f"Host(`{route.host}`)" in r["rule"]}
            root = routers[f"{zone}-{route.prefix}-root"]
            assert root["rule"] == f"Host(`{route.host}`)" and root["service"] == "svc-web"
            limit = f"ratelimit-{route.prefix}"
            assert root["middlewares"] == [f"pages-{zone}", "upstream-unavailable", "edge-rate-limited", limit]
            blocked = routers[f"{zone}-{route.prefix}-blocked-metrics"]
            assert blocked["service"] == "edge-answers" and "not-found" in blocked["middlewares"]
            assert set(host_routers) == {f"{zone}-{route.prefix}-root", f"{zone}-{route.prefix}-blocked-metrics"}
        elif route.kind == "admin":
            console = routers[f"{zone}-admin-console"]
            assert console["rule"] == traefik._rule(route.host, "/", list(reg.admin_allow_list))
            assert console["service"] == "svc-web"
            assert console["middlewares"][:2] == [f"pages-{zone}", "upstream-unavailable"]
            assert console["priority"] < routers[f"{zone}-admin-api"]["priority"]
            assert routers[f"{zone}-admin-api"]["service"] == f"svc-{route.zone.api_service}"
    csp = middlewares["pages-univ"]["headers"]["customResponseHeaders"]["Content-Security-Policy"]
    assert csp == policy.page_csp("univprepai.com", objects_host=reg.edge.objects_host)
    assert "script-src 'self' https://static.univprepai.com;" in csp  # code never from the uploads' host
    assert f"img-src 'self' data: blob: https://static.univprepai.com https://{reg.edge.objects_host};" in csp
    cors = middlewares["cors-univ"]["headers"]
    assert cors["accessControlAllowOriginList"] == [
        "https://www.univprepai.com", "https://app.univprepai.com", "https://admin.univprepai.com"]
    assert "X-Requested-With" in cors["accessControlAllowHeaders"]
    # Pages read these from cross-origin answers: a 429's wait, a download's file name, …
    assert cors["accessControlExposeHeaders"] == policy.CORS_EXPOSED_HEADERS
    assert {"Retry-After", "Content-Disposition"} <= set(cors["accessControlExposeHeaders"])


def test_native_pages_policy_names_the_http_and_the_https_port() -> None:
    """The native edge serves plain HTTP on its listen port and HTTPS on its TLS port: a page on
    either may call api. on the same one (CORS) and load and connect there (CSP)."""
    bases = (("http", 8080), ("https", 8443))
    target = traefik.Target(name="native", service_host="127.0.0.1", answers_url="http://127.0.0.1:1",
                            objects_url=None, otlp_endpoint=None, page_bases=bases)
    middlewares = traefik.dynamic_config(registry(), target)["http"]["middlewares"]
    origins = middlewares["cors-mpc"]["headers"]["accessControlAllowOriginList"]
    assert origins == [f"{scheme}://{prefix}.mpcstudy.com:{port}" for prefix in ("www", "app", "admin")
                       for scheme, port in bases]
    csp = middlewares["pages-mpc"]["headers"]["customResponseHeaders"]["Content-Security-Policy"]
    connect = csp.split("connect-src ")[1].split(";")[0].split()
    assert connect == ["'self'", "http://api.mpcstudy.com:8080", "https://api.mpcstudy.com:8443",
                       "ws://api.mpcstudy.com:8080", "wss://api.mpcstudy.com:8443"]
    script = csp.split("script-src ")[1].split(";")[0].split()
    assert script == ["'self'", "http://static.mpcstudy.com:8080", "https://static.mpcstudy.com:8443"]


def test_classroom_and_its_websocket_are_routed_on_every_api_host() -> None:
    """The live-session socket (`/api/v1/classroom/sessions/{code}/ws`) needs no router of its
    own: the classroom prefix router carries the upgrade, on every zone's api host, and the
    zone's pages may open it (CSP connect-src wss://api.<domain>)."""
    reg = registry()
    routers = traefik.dynamic_config(reg)["http"]["routers"]
    for zone in reg.zones:
        host = f"api.{zone.domains[0]}"
        assert reg.service_for_path(zone, "/api/v1/classroom/sessions/ABCD2345/ws") == "classroom"
        rule = traefik._rule(host, "/api/v1/classroom", None)
        matching = [r for r in routers.values() if r["rule"] == rule]
        assert len(matching) == 1 and matching[0]["service"] == "svc-classroom", host
        assert f"wss://{host}" in policy.page_csp(zone.domains[0]).split("connect-src ")[1].split(";")[0]


def test_traefik_static_configs() -> None:
    """Production: HTTP redirects to HTTPS, certificates from ACME. Local: Traefik's self-signed one."""
    for name, acme in (("traefik.yml", True), ("traefik.local.yml", False)):
        static = yaml.safe_load((ROOT / "gateway/traefik" / name).read_text())
        assert static["entryPoints"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"
        assert static["entryPoints"]["websecure"]["address"] == ":443"
        assert static["providers"]["file"]["directory"] == "/etc/traefik/dynamic"
        assert static["tracing"]["otlp"]["grpc"]["endpoint"] == "jaeger:4317"
        assert static["accessLog"]["format"] == "json"
        assert static["ping"]["entryPoint"] == static["metrics"]["prometheus"]["entryPoint"] == "ops"
        assert all(ep["http"]["aliasHeadersStrategy"] == "delete" for ep in static["entryPoints"].values())
        tls = static["entryPoints"]["websecure"]["http"]["tls"]
        assert (tls.get("certResolver") == traefik.CERT_RESOLVER) == acme
        assert ("certificatesResolvers" in static) == acme
        if acme:  # Traefik ignores TRAEFIK_* variables when a config file is used: the address is in it
            assert static["certificatesResolvers"][traefik.CERT_RESOLVER]["acme"]["email"] == registry().edge.acme_email


def test_the_real_traefik_accepts_the_generated_config(tmp_path: Path) -> None:
    """Traefik itself parses the committed static + dynamic config (unknown keys fail at start)."""
    static = yaml.safe_load((ROOT / "gateway/traefik/traefik.local.yml").read_text())
    static["entryPoints"] = {name: {**ep, "address": "127.0.0.1:0"} for name, ep in static["entryPoints"].items()}
    static["providers"]["file"] = {"directory": str(ROOT / "gateway/traefik/dynamic"), "watch": False}
    static.pop("tracing")
    static["log"] = {"level": "DEBUG", "format": "json"}
    conf, log = tmp_path / "traefik.yml", tmp_path / "traefik.log"
    conf.write_text(yaml.safe_dump(static))
    hosts = {r.host for r in registry().host_routes()}
    with log.open("w") as out:
        proc = subprocess.Popen([traefik_bin(), f"--configFile={conf}"], stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):  # until every host's TLS route is built (or 30 s)
            routed = set(re.findall(r"Adding route for ([^ ]+) with TLS options", log.read_text()))
            if routed >= hosts or proc.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log.read_text()
    assert '"level":"error"' not in text and '"level":"fatal"' not in text, text[-3000:]
    assert routed >= hosts, sorted(hosts - routed)
