"""Live classroom pages (app. host): a student joins a session by code (the QR points at
`/join/<CODE>`) and takes part over the classroom WebSocket; a teacher starts a session and runs
it from a console (code + QR, participants, chat moderation, cards, tally, then homework and the
session's report); an absent student works through a session's cards as homework at
`/homework/<CODE>`. The pages are shells: the browser calls api.<domain> (`/api/v1/classroom/...`)
itself. The one thing rendered here is the QR code of a join or homework URL, an SVG of a public URL
(no user data)."""
from __future__ import annotations

import io
import re

import segno
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from megacity.errors import AppError
from megacity.http_app import problems
from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

router = page_router("app")

# services/classroom/sessions/codes.py: 8 characters of this alphabet (no 0/O/1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CODE = re.compile(f"^[{CODE_ALPHABET}]{{8}}$")
_NOISE = re.compile(r"[\s\-_.]+")
QR_RESPONSES = {200: {"content": {"image/svg+xml": {}}}, **problems((404, "web.not_found", "Not a class code"))}


def normalise_code(raw: str) -> str:
    """Typed codes forgive case, spaces and dashes (as the classroom API does)."""
    return _NOISE.sub("", raw).upper()[:32]


def join_url(site_origin: str, code: str) -> str:
    return f"{site_origin}/join/{code}"


def homework_url(site_origin: str, code: str) -> str:
    """Where a homework code's link and QR point (classroom's `join_url` of homework, on this page's origin)."""
    return f"{site_origin}/homework/{code}"


def qr_response(url: str, code: str) -> Response:
    """The QR of a public URL as SVG: a code is what the class sees anyway, so no sign-in is needed."""
    if not _CODE.match(code):
        raise AppError(404, "web.not_found", "not a class code")
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=8, border=2, dark="#000", light="#fff", xmldecl=False,
                                    title=code)
    return Response(buf.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/join", response_class=HTMLResponse, summary="Join a live class: type the code")
async def join_form(request: Request, site: SiteDep, code: str | None = None) -> Response:
    """Without JavaScript the code form GETs `/join?code=...`: send it on to `/join/<CODE>`."""
    if code and normalise_code(code):
        return RedirectResponse(f"/join/{normalise_code(code)}", status_code=303)
    return render(request, site, "classroom/join.html", title=N_("Join a class"), script="classroom-join", code="")


@router.get("/join/{code}", response_class=HTMLResponse, summary="Join a live class by its code (the QR's target)")
async def join_code(request: Request, site: SiteDep, code: str) -> HTMLResponse:
    return render(request, site, "classroom/join.html", title=N_("Join a class"), script="classroom-join",
                  code=normalise_code(code))


@router.get("/teach/classroom", response_class=HTMLResponse, summary="Start a live class session (teacher)")
async def teach_start(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "classroom/teach.html", title=N_("Live classroom"), script="classroom-teach")


@router.get("/teach/classroom/{code}", response_class=HTMLResponse, summary="Run a live class session (teacher)")
async def teach_console(request: Request, site: SiteDep, code: str) -> HTMLResponse:
    code = normalise_code(code)
    return render(request, site, "classroom/console.html", title=N_("Live class console"),
                  script="classroom-console", code=code, join_url=join_url(site.origin("app"), code))


@router.get("/teach/classroom/{code}/qr.svg", response_class=Response, summary="QR code of a session's join URL",
            responses=QR_RESPONSES)
async def qr_svg(site: SiteDep, code: str) -> Response:
    """The QR of `https://app.<domain>/join/<CODE>`: a public URL, so no sign-in is needed (the
    code itself is what the class sees on the projector)."""
    code = normalise_code(code)
    return qr_response(join_url(site.origin("app"), code), code)


@router.get("/homework", response_class=HTMLResponse, summary="Do a class's homework: type the homework code")
async def homework_form(request: Request, site: SiteDep, code: str | None = None) -> Response:
    """Without JavaScript the code form GETs `/homework?code=...`: send it on to `/homework/<CODE>`."""
    if code and normalise_code(code):
        return RedirectResponse(f"/homework/{normalise_code(code)}", status_code=303)
    return render(request, site, "classroom/homework.html", title=N_("Homework"), script="classroom-homework", code="")


@router.get("/homework/{code}", response_class=HTMLResponse,
            summary="Do a class's homework by its code (the teacher's link and QR)")
async def homework_code(request: Request, site: SiteDep, code: str) -> HTMLResponse:
    """Anonymous: GET /api/v1/classroom/homework/{code}, POST .../{code}/join, then GET
    /api/v1/classroom/homework/cards and POST .../cards/{n}/answer with the homework seat's token."""
    return render(request, site, "classroom/homework.html", title=N_("Homework"), script="classroom-homework",
                  code=normalise_code(code))


@router.get("/homework/{code}/qr.svg", response_class=Response, summary="QR code of a homework URL",
            responses=QR_RESPONSES)
async def homework_qr_svg(site: SiteDep, code: str) -> Response:
    """The QR of `https://app.<domain>/homework/<CODE>` (the teacher's console shows it)."""
    code = normalise_code(code)
    return qr_response(homework_url(site.origin("app"), code), code)
