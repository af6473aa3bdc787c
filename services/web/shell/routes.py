"""What every page host serves besides pages: the versioned assets, the zone's brand stylesheet
and logo (colours and names from the registry), and robots.txt."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

from megacity.errors import AppError
from megacity.http_app import problems
from services.web.assets import MEDIA_TYPES, asset_file, version
from services.web.site import SiteDep

router = APIRouter(tags=["assets"])
NOT_FOUND = problems((404, "web.not_found", "No such asset"))


@router.get("/static/{asset_version}/{path:path}", summary="A page asset (CSS, JS, vendored libraries)",
            description="Versioned by a hash of the whole static tree: the current version is cached for a year "
                        "(`immutable`); an older one is served uncached during a deploy.",
            responses=NOT_FOUND, response_class=FileResponse)
async def static_file(asset_version: str, path: str, request: Request, site: SiteDep) -> Response:
    file = asset_file(path)
    if file is None:
        raise AppError(404, "web.not_found", f"no asset {path!r}")
    max_age = request.app.state.resources.settings.asset_max_age_seconds
    cache = f"public, max-age={max_age}, immutable" if asset_version == version() else "no-cache"
    return FileResponse(file, media_type=MEDIA_TYPES[file.suffix], headers={"Cache-Control": cache})


@router.get("/brand.css", summary="The zone's colours as CSS variables", response_class=PlainTextResponse)
async def brand_css(site: SiteDep) -> Response:
    css = f":root{{--brand:{site.zone.brand.color}}}\n"
    return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/brand/logo.svg", summary="The zone's logo mark (its initials on its colour)",
            response_class=Response)
async def logo(site: SiteDep) -> Response:
    initials = "".join(word[0] for word in site.zone.name.split()[:2]).upper()
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40" role="img" aria-hidden="true">'
           f'<rect width="40" height="40" rx="8" fill="{site.zone.brand.color}"/>'
           '<text x="20" y="26" font-family="sans-serif" font-size="16" font-weight="700" fill="#fff" '
           f'text-anchor="middle">{initials}</text></svg>')
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/robots.txt", summary="Crawlers: www. pages only", response_class=PlainTextResponse)
async def robots(site: SiteDep) -> Response:
    body = "User-agent: *\nAllow: /\n" if site.kind == "www" else "User-agent: *\nDisallow: /\n"
    return PlainTextResponse(body)
