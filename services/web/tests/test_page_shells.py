"""Every page of the web service, in both languages, on its own kind of host (and only there),
straight from the service (no browser): 200, the right `lang`, a title, its script present, and
never an untranslated placeholder. The browser journeys test what the scripts do."""
from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import Match

from megacity.runtime import ServiceRuntime
from services.web.assets import STATIC, version
from services.web.main import build
from services.web.settings import Settings
from services.web.site import page_routes

HOSTS = {"www": "www.univprepai.com", "app": "app.univprepai.com", "admin": "admin.univprepai.com"}
SAMPLE = {"code": "ABCD2345", "exam_id": "0b7e5a6c-2f0d-4c55-9a8e-1f3d2c4b5a69"}


def page_paths(runtime: ServiceRuntime) -> Iterator[tuple[str, str]]:
    for route in page_routes(runtime.app.routes):
        if "GET" in route.methods and not route.path.endswith(".svg"):
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE.get(m.group(1), "5d1c3f0e-8a7b-4e6f-9d2c-1b0a9f8e7d6c"),
                          route.path)
            yield route.kind, path


@pytest.fixture
async def web() -> Iterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    runtime = build(Settings(environment="test"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app), base_url="http://web") as client:
        yield runtime, client


async def test_every_page_renders_in_both_languages_on_its_host(web) -> None:
    runtime, client = web
    pages = list(page_paths(runtime))
    assert len(pages) >= 20, pages
    for kind, path in pages:
        for lang in ("ko", "en"):
            resp = await client.get(path, headers={"Host": HOSTS[kind], "Accept-Language": lang, "Accept": "text/html"})
            assert resp.status_code == 200, (kind, path, lang, resp.status_code, resp.text[:300])
            html = resp.text
            assert f'<html lang="{lang}">' in html and "<h1" in html, (kind, path, lang)
            assert re.search(r"<title>[^<]+</title>", html)
            for script in re.findall(r'<script type="module" src="/static/[0-9a-f]+/([^"]+)"', html):
                assert (STATIC / script).is_file(), (path, script)
        # The same path on another kind of host is not this page.
        other = next(k for k in HOSTS if k != kind)
        resp = await client.get(path, headers={"Host": HOSTS[other], "Accept": "text/html"})
        # `/` exists on every kind (each kind's own page); anything else is 404 on the other host.
        assert resp.status_code == 404 or path == "/" or any(k == other and p == path for k, p in pages), \
            (kind, other, path, resp.status_code)


async def test_assets_are_versioned_and_cached_and_nothing_escapes_the_static_tree(web) -> None:
    _, client = web
    host = {"Host": HOSTS["app"]}
    current = await client.get(f"/static/{version()}/js/mc.js", headers=host)
    assert current.status_code == 200 and "immutable" in current.headers["cache-control"]
    assert current.headers["content-type"].startswith("text/javascript")
    old = await client.get("/static/000000000000/js/mc.js", headers=host)
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"
    for bad in ("..%2fmain.py", "js%2f..%2f..%2fmain.py", "js/nothing.js", "..%2f..%2fsettings.py"):
        resp = await client.get(f"/static/{version()}/{bad}", headers=host)
        assert resp.status_code == 404, (bad, resp.status_code)
    gz = await client.get(f"/static/{version()}/js/mc.js", headers={**host, "Accept-Encoding": "gzip"})
    assert gz.headers.get("content-encoding") == "gzip"


async def test_unknown_pages_and_hosts(web) -> None:
    _, client = web
    page = await client.get("/no-such-page", headers={"Host": HOSTS["app"], "Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    api = await client.get("/", headers={"Host": "api.univprepai.com"})
    assert api.status_code == 404 and api.json()["code"] in ("web.unknown_site", "route.not_found"), \
        api.text
    brand = await client.get("/brand.css", headers={"Host": "www.my-ktube.com"})
    assert brand.text == ":root{--brand:#be185d}\n"


def test_kind_routes_only_match_their_host() -> None:
    runtime = build(Settings(environment="test"))
    route = next(r for r in page_routes(runtime.app.routes) if r.kind == "www" and r.path == "/")
    from megacity.zones import registry

    for host, expected in (("www.univprepai.com", Match.FULL), ("app.univprepai.com", Match.NONE)):
        scope = {"type": "http", "path": "/", "method": "GET", "state": {"host_route": registry().resolve_host(host)}}
        assert route.matches(scope)[0] == expected


def test_every_zone_brand_colour_keeps_aa_contrast_on_white() -> None:
    """Buttons are white text on the brand colour and links brand on white: WCAG AA needs 4.5:1."""
    from megacity.zones import registry

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for zone in registry().zones:
        ratio = 1.05 / (luminance(zone.brand.color) + 0.05)
        assert ratio >= 4.5, (zone.key, zone.brand.color, round(ratio, 2))
        assert zone.brand.name_ko, zone.key


async def test_head_malformed_ids_and_unsupported_methods_on_pages(web) -> None:
    _, client = web
    host = {"Host": HOSTS["app"], "Accept": "text/html"}
    head = await client.head("/exams", headers=host)
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/html")
    malformed = await client.get("/exams/not-a-uuid", headers=host)
    assert malformed.status_code == 404 and malformed.headers["content-type"].startswith("text/html")
    post = await client.post("/exams", headers=host)
    assert post.status_code == 405 and "GET" in post.headers.get("allow", ""), post.headers


def test_accept_language_q_values_decide() -> None:
    from services.web.i18n import negotiate

    assert negotiate(None, None, "en;q=0.1, ko;q=0.9", "ko") == "ko"
    assert negotiate(None, None, "ko;q=0, en", "ko") == "en"
    assert negotiate(None, None, "fr-FR, en-US;q=0.8", "ko") == "en"
    assert negotiate(None, None, "fr", "ko") == "ko"
    assert negotiate("en", "ko", "ko", "ko") == "en" and negotiate(None, "en", "ko", "ko") == "en"
