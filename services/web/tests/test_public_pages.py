"""www.'s pages in a real browser through the edge: a visitor signs up and lands on app. signed
in (auth's refresh cookie, not storage, carries the session across hosts and reloads); a student
signs in and is sent to their pages (on a narrow phone the nav scrolls, the page does not); an
org admin's sign-in takes the TOTP step."""
from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from services.web.tests.conftest import Platform, axe_check, shot, sign_in, totp_code


async def test_a_visitor_signs_up_and_stays_signed_in_across_hosts_and_reloads(platform: Platform,
                                                                                browser: Browser) -> None:
    page = await platform.page(browser, lang="en")
    await page.goto(platform.url("www", "/"))
    await expect(page.locator("h1")).to_have_text("University Prep")
    await axe_check(page)
    await shot(page, "www-landing-en")

    # Korean by the switch (kept in a cookie), then back to English.
    await page.locator("#lang-select").select_option("ko")
    await page.locator("form.lang button").click()
    await expect(page.locator("html")).to_have_attribute("lang", "ko")
    await expect(page.locator("h1")).to_have_text("대학 입시")
    await axe_check(page)
    await shot(page, "www-landing-ko")
    await page.goto(platform.url("www", "/catalogue"))
    await expect(page.locator("html")).to_have_attribute("lang", "ko")
    await axe_check(page)
    await page.goto(platform.url("www", "/signup?lang=en"))
    await axe_check(page)

    # Sign up: the account is made, the browser signed in and sent to app.
    await page.locator("#display_name").fill("Minji Kim")
    await page.locator("#email").fill("minji@visitor.example")
    await page.locator("#password").fill("Correct-Horse-9")
    await page.locator("#signup-form button[type=submit]").click()
    await page.wait_for_url(re.compile(r"https://app\.univprepai\.com:\d+/$"))
    # A guest (no school yet) has no pages: the home says so instead of bouncing to sign-in.
    await expect(page.locator("#home-status")).to_have_text("There are no pages for your role here yet.")
    await expect(page.locator("#signout")).to_be_visible()
    await axe_check(page)

    # The refresh cookie (HttpOnly, Secure, path /api/v1/auth) is the only thing kept.
    cookies = {c["name"]: c for c in await page.context.cookies()}
    refresh = cookies["mc_refresh"]
    assert refresh["httpOnly"] and refresh["secure"] and refresh["path"] == "/api/v1/auth"
    assert refresh["sameSite"] == "Strict" and refresh["domain"].startswith("api.")
    assert await page.evaluate("Object.keys(localStorage).length + Object.keys(sessionStorage).length") == 0
    await page.reload()
    await expect(page.locator("#home-status")).to_have_text("There are no pages for your role here yet.")

    # Signing out ends the session: the next visit asks to sign in.
    await page.locator("#signout").click()
    await page.wait_for_url(re.compile(r"https://www\.univprepai\.com:\d+/signin"))
    await page.goto(platform.url("app", "/"))
    await page.wait_for_url(re.compile(r"/signin\?next="))


async def test_wrong_password_is_explained_and_a_student_lands_on_their_exams(platform: Platform,
                                                                             browser: Browser) -> None:
    school = await platform.seed.school(n_students=1)
    student = school.students[0]
    page = await platform.page(browser, lang="en")
    await page.goto(platform.url("www", "/signin"))
    await page.locator("#email").fill(student.email)
    await page.locator("#password").fill("not-the-password")
    await page.locator("#signin-form button[type=submit]").click()
    alert = page.locator("#signin-message [role=alert]")
    await expect(alert).to_contain_text("auth.")
    await axe_check(page)
    await shot(page, "www-signin-error")

    await sign_in(page, platform, student.email)
    await page.wait_for_url(re.compile(r"https://app\.univprepai\.com:\d+/exams"))

    # On a narrow phone the student's links (shown once the session is known) do not fit one row:
    # the nav's list scrolls sideways, the page itself never does, and Tab brings the last link into view.
    await page.set_viewport_size({"width": 360, "height": 740})
    account = page.locator("ul.nav").get_by_role("link", name="My account")
    await expect(account).to_be_visible()
    sizes = await page.evaluate("""() => {
        const nav = document.querySelector("ul.nav");
        return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                navScroll: nav.scrollWidth, navBox: nav.clientWidth};
    }""")
    assert sizes["page"] <= sizes["view"], sizes
    assert sizes["navScroll"] > sizes["navBox"], sizes  # the links really overflow: the list scrolls
    for _ in range(40):
        if await account.evaluate("a => a === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await expect(account).to_be_focused()
    box = await account.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 360, box
    await axe_check(page)
    await shot(page, "app-exams-narrow")


async def test_an_org_admin_signs_in_with_the_totp_step(platform: Platform, browser: Browser) -> None:
    school = await platform.seed.school(n_students=1)
    page = await platform.page(browser, lang="ko")
    await page.goto(platform.url("www", "/signin"))
    await page.locator("#email").fill(school.admin.email)
    await page.locator("#password").fill("Correct-Horse-9")
    await page.locator("#signin-form button[type=submit]").click()
    await expect(page.locator("#totp-code")).to_be_focused()
    await expect(page.locator("#totp-heading")).to_have_text("2단계 인증")
    await axe_check(page)
    await shot(page, "www-signin-totp-ko")
    assert school.admin.totp_secret
    await page.locator("#totp-code").fill(totp_code(school.admin.totp_secret))
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"https://admin\.univprepai\.com:\d+/"))
