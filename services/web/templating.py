"""Jinja2 rendering of page shells: one environment per language (gettext installed, autoescape
on), the base context every page gets (site, language, brand, asset URLs), and the JSON island
of strings a page's script needs."""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from services.web.assets import asset_url
from services.web.i18n import LANG_COOKIE, LANGUAGES, negotiate, translations
from services.web.site import Site

TEMPLATES = __import__("pathlib").Path(__file__).with_name("templates")
# Pages are shells around live data: browsers revalidate them (the assets they name are immutable).
PAGE_CACHE_CONTROL = "no-cache"


@cache
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "svg"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["asset"] = asset_url
    return env


def strings(values: dict[str, str], island: str = "mc-strings") -> Markup:
    """The page script's strings as a JSON island (`t(key)` in mc.js reads every
    `mc-strings*` island); `<` is escaped so no value can close the script element."""
    body = json.dumps(values, ensure_ascii=False).replace("<", "\\u003c")
    return Markup(f'<script type="application/json" id="{island}" class="mc-strings">{body}</script>')


def language(request: Request, default: str) -> str:
    return negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                     request.headers.get("accept-language"), default)


def render(request: Request, site: Site, template: str, *, title: str, script: str | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """A page: `template` (extends base.html) in the request's language. `title` is an
    English msgid (mark it with `N_`); `script` names static/js/pages/<script>.js."""
    settings = request.app.state.resources.settings
    lang = language(request, settings.default_language)
    env = environment(lang)
    gettext = translations(lang).gettext
    zone = site.zone
    html = env.get_template(template).render(
        request=request, site=site, lang=lang, languages=LANGUAGES, title=gettext(title),
        zone_name=(zone.brand.name_ko or zone.name) if lang == "ko" else zone.name,
        script=asset_url(f"js/pages/{script}.js") if script else None, strings=strings,
        path=request.url.path, **context)
    response = HTMLResponse(html, status_code=status_code, headers={
        "Cache-Control": PAGE_CACHE_CONTROL, "Content-Language": lang, "Vary": "Accept-Language, Cookie",
        **(headers or {})})
    if request.query_params.get("lang") in LANGUAGES:
        # On the zone's domain: the choice made on www. holds on app. and admin. too.
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, secure=site.scheme == "https",
                            samesite="lax", path="/", domain=site.domain)
    return response
