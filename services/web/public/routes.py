"""The zone's public pages on www. (landing, catalogue, sign in with the TOTP step, sign up,
forgot/reset password and email verification from the emailed links), app.'s home, which
sends each role to its own pages, and app.'s account page (devices, recovery codes)."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

www = page_router("www")
# The emailed-link pages: the token is in the URL fragment (never sent), but the page itself
# must not be cached or leak its address to anything it loads.
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
