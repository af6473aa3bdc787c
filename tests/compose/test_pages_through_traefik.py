"""The pages in containers: the web image behind Traefik's published HTTPS port (self-signed, SNI =
the page host). www. and app. of a zone are web's (Host passed through: web answers as that zone)
under the pages' CSP; the page's versioned assets and both languages come from the image (its
templates, static files and translations); web's metrics stay inside; the admin console keeps
the allow-list, and its health page reads every service's /readyz by compose hostname.
Run by `make compose-test`."""
from __future__ import annotations

import json
import re

import httpx

from gateway import policy
from megacity.zones import registry
from tests.compose.conftest import Stack

DOMAIN = "my-ktube.com"  # zone kzone (tests/compose/conftest.py's ZONE_HOST)
WWW, APP, ADMIN = (f"{prefix}.{DOMAIN}" for prefix in ("www", "app", "admin"))


def page(stack: Stack, host: str, path: str = "/") -> httpx.Response:
    resp = stack.call("GET", path, host=host, headers={"Accept": "text/html"})
    assert resp.status_code == 200, (host, path, resp.status_code, resp.text[:300])
    return resp


def test_www_and_app_are_web_as_their_zone_under_the_pages_csp(stack: Stack) -> None:
    for host in (WWW, APP):
        resp = page(stack, host)
        assert resp.headers["x-served-by"] == "web" and resp.headers["x-zone"] == "kzone", host
        assert resp.headers["content-type"].startswith("text/html")
        # Uploads' presigned URLs (S3 in compose) name the objects host: pages may show them.
        assert resp.headers["content-security-policy"] == policy.page_csp(DOMAIN, objects_host=registry().edge.objects_host)
        assert resp.headers["x-frame-options"] == "DENY" and "max-age" in resp.headers["strict-transport-security"]
        metrics = stack.call("GET", "/metrics", host=host)
        assert metrics.status_code == 404 and metrics.json()["code"] == "edge.not_found"


def test_the_image_carries_assets_and_both_languages(stack: Stack) -> None:
    html = page(stack, WWW, "/signin").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+\.(?:css|js))"', html)
    assert assets, html[:1000]
    for path in assets:
        resp = stack.call("GET", path, host=WWW)
        assert resp.status_code == 200, (path, resp.status_code)
        assert "immutable" in resp.headers["cache-control"] and resp.headers["x-served-by"] == "web"
    lang = {code: re.search(r'<html[^>]*\slang="([a-z]{2})"', page(stack, WWW, f"/?lang={code}").text)
            for code in ("ko", "en")}
    assert {code: m.group(1) if m else None for code, m in lang.items()} == {"ko": "ko", "en": "en"}
    assert page(stack, WWW, "/?lang=ko").text != page(stack, WWW, "/?lang=en").text


def test_admin_console_keeps_the_allow_list_and_probes_every_service(stack: Stack) -> None:
    # From outside the allow-list (the test host), the console is refused like the admin API.
    refused = stack.call("GET", "/health", host=ADMIN, headers={"Accept": "text/html"})
    assert refused.status_code == 403 and refused.json()["code"] == "edge.admin_forbidden"
    assert "x-served-by" not in refused.headers
    # Inside the platform, web renders the health page from each service's /readyz, reached by
    # its compose hostname (WEB_HEALTH_URL_TEMPLATE).
    fetch = ("import urllib.request as u; r = u.Request('http://127.0.0.1:8109/health', headers="
             f"{{'Host': '{ADMIN}', 'Accept': 'text/html'}}); print(u.urlopen(r, timeout=30).read().decode())")
    html = stack.compose("exec", "-T", "web", "python", "-c", fetch).stdout
    states = dict(re.findall(r'data-service="([a-z-]+)" data-state="([a-z_]+)"', html))
    assert states and set(states.values()) == {"ready"}, json.dumps(states)
