"""axe-core on EVERY page of the web service, in a real browser through the edge, signed in as
the role the page is for (or signed out on www.), with the seeded school's real ids where the
page takes one and a made-up id elsewhere (so error states are checked too): 0 serious or
critical violations, no uncaught script error, no CSP refusal. Each page in both languages is
covered by test_page_shells.py; here Korean pages are checked for half of the sweep."""
from __future__ import annotations

import re

from playwright.async_api import Browser, Page

from services.web.main import build
from services.web.settings import Settings
from services.web.site import page_routes
from services.web.tests.conftest import Platform, axe_check, sign_in

UNKNOWN = "5d1c3f0e-8a7b-4e6f-9d2c-1b0a9f8e7d6c"


def role_for(kind: str, path: str) -> str | None:
    if kind == "www":
        return None
    if kind == "admin":
        return "zone_admin"
    if path.startswith("/teach"):
        return "teacher"
    if path.startswith("/parent"):
        return "parent"
    return "student"


async def test_every_page_has_no_serious_accessibility_violation(platform: Platform, browser: Browser) -> None:
    school = await platform.seed.school(n_students=1)
    exam = await platform.seed.adaptive_exam(school)
    parent = await platform.seed.parent(school)
    ids = {"exam_id": exam["id"], "class_id": school.class_id, "student_id": school.students[0].user_id,
           "org_id": school.org_id, "code": "ZZZZ2345"}
    people = {"student": school.students[0], "teacher": school.teacher, "parent": parent,
              "zone_admin": school.zone_admin}
    pages: dict[str | None, Page] = {}
    visited: list[str] = []
    routes = sorted(page_routes(build(Settings(environment="test")).app.routes), key=lambda r: (r.kind, r.path))
    for n, route in enumerate(r for r in routes if "GET" in r.methods and not r.path.endswith(".svg")):
        role = role_for(route.kind, route.path)
        if role not in pages:
            page = await platform.page(browser, lang="ko" if n % 2 else "en")
            if role is not None:
                who = people[role]
                await sign_in(page, platform, who.email, totp_secret=who.totp_secret)
            pages[role] = page
        page = pages[role]
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: ids.get(m.group(1), UNKNOWN), route.path)
        await page.goto(platform.url(route.kind, path))
        await page.wait_for_load_state("networkidle")
        await axe_check(page)
        visited.append(f"{route.kind}:{path}")
    assert len(visited) >= 20, visited
