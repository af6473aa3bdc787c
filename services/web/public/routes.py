"""The zone's public pages on www. (landing, catalogue, sign in with the TOTP step, sign up)
and app.'s home, which sends each role to its own pages."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

www = page_router("www")
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


@app.get("/", response_class=HTMLResponse, summary="Home: sends each role to its pages")
async def home(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "public/home.html", title=N_("Home"), script="public-home")
