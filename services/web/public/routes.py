"""The zone's public pages on www. (landing, catalogue, sign in with the TOTP step, sign up,
forgot/reset password and email verification from the emailed links), app.'s home, which
sends each role to its own pages, app.'s account page (devices, recovery codes) and app.'s
activation page (the QR of a school's activation sheet leads there)."""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

www = page_router("www")
# The emailed-link pages and /activate: the token or code is in the URL fragment (never sent),
# but the page itself must not be cached or leak its address to anything it loads.
LINK_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
app = page_router("app")


@www.get("/", response_class=HTMLResponse, summary="The zone's landing page")
async def landing(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/landing.html", title=N_("Welcome"))


@www.get("/catalogue", response_class=HTMLResponse, summary="What the zone offers")
async def catalogue(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/catalogue.html", title=N_("Catalogue"))


@www.get("/signin", response_class=HTMLResponse, summary="Sign in (password, then TOTP for admin roles)")
async def signin(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/signin.html", title=N_("Sign in"), script="public-signin")


@www.get("/signup", response_class=HTMLResponse, summary="Create an account")
async def signup(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/signup.html", title=N_("Create an account"), script="public-signup")


@www.get("/forgot-password", response_class=HTMLResponse, summary="Ask for a password reset link by email")
async def forgot_password(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/forgot_password.html", title=N_("Forgot your password?"),
                  script="public-forgot-password")


@www.get("/reset-password", response_class=HTMLResponse, summary="Choose a new password (the emailed link)")
async def reset_password(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/reset_password.html", title=N_("Choose a new password"),
                  script="public-reset-password", headers=LINK_PAGE_HEADERS)


@www.get("/verify-email", response_class=HTMLResponse, summary="Confirm an email address (the emailed link)")
async def verify_email(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/verify_email.html", title=N_("Confirm your email address"),
                  script="public-verify-email", headers=LINK_PAGE_HEADERS)


@app.get("/", response_class=HTMLResponse, summary="Home: sends each role to its pages")
async def home(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/home.html", title=N_("Home"), script="public-home")


@app.get("/account", response_class=HTMLResponse, summary="My account: email, signed-in devices, recovery codes")
async def account(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/account.html", title=N_("My account"), script="public-account")


@app.get("/activate", response_class=HTMLResponse,
         summary="Activate a school-provisioned account (the activation sheet's QR code leads here)")
async def activate(request: Request, site: SiteDep) -> Response:
    """Login id and one-time code come in the fragment (`#login=…&code=…`, never sent to a
    server), or typed from the sheet; the page sets the first password with
    `POST /api/v1/auth/activate`, then signs in with `POST /api/v1/auth/login`.

    Sheets printed before the fragment URL hold `?login=…&code=…`, and their codes stay valid for
    weeks: such a request is sent on to the same page with the two in the fragment, so the code
    leaves the address bar and history and is never rendered into the page (the language form
    copies the query) nor sent on in a Referer."""
    query = request.query_params
    if "login" in query or "code" in query:
        kept = urlencode([(k, v) for k, v in query.multi_items() if k not in ("login", "code")])
        moved = urlencode([(k, query[k]) for k in ("login", "code") if query.get(k)])
        return RedirectResponse(f"/activate{'?' + kept if kept else ''}{'#' + moved if moved else ''}", status_code=303,
                                headers=LINK_PAGE_HEADERS)
    return render(request, site, "public/activate.html", title=N_("Activate your account"),
                  script="public-activate", headers=LINK_PAGE_HEADERS)
