"""Generated edge/deploy files are current and consistent with the zone registry."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from gateway import __main__ as gateway_cli
from gateway import nginx, policy, traefik
from gateway.local_edge import NGINX_BIN, validate
from gateway.routes import path_routes
from megacity.zones import registry

ROOT = Path(__file__).resolve().parents[2]
needs_nginx = pytest.mark.skipif(shutil.which(NGINX_BIN) is None, reason=f"{NGINX_BIN} not installed")


def test_generated_files_are_current() -> None:
    """`python -m gateway check`: regenerate with `python -m gateway generate`."""
    assert gateway_cli.stale() == []
    assert gateway_cli.main(["check"]) == 0


def test_check_reports_a_stale_file(tmp_path: Path) -> None:
    gateway_cli.generate(tmp_path)
    assert gateway_cli.stale(tmp_path) == []
    (tmp_path / "gateway/nginx/nginx.conf").write_text("# hand edit\n")
    assert gateway_cli.stale(tmp_path) == ["gateway/nginx/nginx.conf"]


@needs_nginx
def test_nginx_accepts_reference_and_custom_configs(tmp_path: Path) -> None:
    validate((ROOT / "gateway/nginx/nginx.conf").read_text(), tmp_path / "ref")
    custom = nginx.EdgeConfig(listen_port=18080, upstreams={"exam": "10.1.2.3:9000"},
                              admin_allow_list=[], static_root=str(tmp_path / "static"), rate_limits=False)
    text = nginx.render_nginx_conf(custom)
    assert "limit_req " not in text and "server 10.1.2.3:9000" in text
    validate(text, tmp_path / "custom")


@needs_nginx
def test_nginx_accepts_edge_errors_conf(tmp_path: Path) -> None:
    server = (ROOT / "gateway/traefik/edge-errors.conf").read_text().replace("listen 8080", "listen 127.0.0.1:18081")
    validate(f"pid nginx.pid;\nevents {{}}\nhttp {{\n{server}\n}}\n", tmp_path)


def test_traefik_routes_every_host_and_references_exist() -> None:
    reg = registry()
    dynamic = yaml.safe_load((ROOT / "gateway/traefik/dynamic/routes.yml").read_text())["http"]
    routers, services, middlewares = dynamic["routers"], dynamic["services"], dynamic["middlewares"]
    hosts = {h for r in routers.values() for h in re.findall(r"Host\(`([^`]+)`\)", r["rule"])}
    assert hosts == {r.host for r in reg.host_routes()}
    for name, router in routers.items():
        assert router["service"] in services, name
        assert set(router["middlewares"]) <= set(middlewares), name
        assert router["entryPoints"] == ["websecure"]
    assert routers["unknown-host"]["priority"] == min(r["priority"] for r in routers.values())
    assert middlewares["admin-allow-list"]["ipAllowList"]["sourceRange"] == reg.admin_allow_list
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
            rule = traefik._rule(route.host, pr.prefix)
            matching = [r for r in routers.values() if r["rule"] == rule]
            assert len(matching) == 1, rule
            assert matching[0]["service"] == f"svc-{reg.service_for_path(route.zone, pr.prefix)}"
            expected_limit = [f"ratelimit-{pr.rate_limit.name}"] if pr.rate_limit else []
            assert [m for m in matching[0]["middlewares"] if m.startswith("ratelimit-")] == expected_limit
            assert ("admin-allow-list" in matching[0]["middlewares"]) == (route.kind == "admin")


def test_traefik_static_config() -> None:
    static = yaml.safe_load((ROOT / "gateway/traefik/traefik.yml").read_text())
    assert static["entryPoints"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"
    assert static["entryPoints"]["websecure"]["address"] == ":443"
    assert static["providers"]["file"]["directory"] == "/etc/traefik/dynamic"
    assert static["tracing"]["otlp"]["grpc"]["endpoint"] == "jaeger:4317"
    assert static["accessLog"]["format"] == "json"
    assert static["ping"]["entryPoint"] == static["metrics"]["prometheus"]["entryPoint"] == "ops"
