"""Account recovery pages in a real browser through the edge, with a REAL SMTP server (aiosmtpd
in this process) receiving auth's mail: "Forgot password?" on sign-in → /forgot-password → the
emailed link → /reset-password → sign in with the new password → app /account (devices, email
confirmed by the reset, recovery codes); /verify-email with a bad link says so. Sign-in: an
admin turning TOTP on keeps the recovery codes shown once, then signs in with one (lost phone).
axe on each."""
from __future__ import annotations

import asyncio
import re
import uuid
from urllib.parse import unquote

from playwright.async_api import Browser, Page, expect

from megacity.mail import Mailer, SmtpConfig
from megacity.smtp_testing import SmtpServer
from services.auth.admin import create_admin
from services.auth.emails.sender import AccountEmails
from services.web.tests.conftest import Platform, axe_check, sign_in, totp_code
from services.web.tests.seed import PASSWORD

NEW_PASSWORD = "Brand-New-Horse-7"


async def test_forgot_password_journey_and_account_page(platform: Platform, browser: Browser) -> None:
    person = await platform.api.register("jiwoo@visitor.example", "Jiwoo")
    page = await platform.page(browser, lang="en")
    await page.goto(platform.url("www", "/signin"))
    await page.get_by_role("link", name="Forgot password?").click()
    await page.wait_for_url(re.compile(r"/forgot-password$"))
    await axe_check(page)
    await page.locator("#email").fill(person.email)
    await page.locator("#forgot-form button[type=submit]").click()
    await expect(page.locator("#forgot-message")).to_contain_text("a link is on its way")

    # auth's mail queue, sent once to a real SMTP server in this process.
    smtp = SmtpServer()
    smtp.start()
    try:
        auth = platform.services["auth"]
        mailer = Mailer(SmtpConfig("127.0.0.1", smtp.port, "", "", "none", "MegaCity <no-reply@example.com>", 5.0, False),
                        "auth")
        sender = AccountEmails(auth.resources, auth.app.state.auth, mailer)
        for _ in range(50):  # the sign-up's verification mail and the reset mail
            await sender.run_once()
            if any("/reset-password#token=" in m.get_content() for _, m in smtp.messages):
                break
            await asyncio.sleep(0.1)
    finally:
        smtp.stop()
    ((rcpt, body),) = [(r, m.get_content()) for r, m in smtp.messages if "/reset-password#token=" in m.get_content()]
    assert rcpt == person.email
    token = unquote(re.search(r"/reset-password#token=(\S+)", body).group(1))  # type: ignore[union-attr]

    # The token rides in the fragment (never sent to the server); the page drops it from the
    # address bar and history, is not cached and sends no Referer.
    opened = await page.goto(platform.url("www", f"/reset-password#token={token}"))
    assert opened is not None and opened.headers["cache-control"] == "no-store"
    assert await page.locator("meta[name=referrer]").get_attribute("content") == "no-referrer"
    await expect(page).to_have_url(platform.url("www", "/reset-password"))
    await axe_check(page)
    await page.locator("#new_password").fill(NEW_PASSWORD)
    await page.locator("#reset-form button[type=submit]").click()
    await expect(page.locator("#reset-message")).to_contain_text("Your password is changed")
    await axe_check(page)
    # The same link again: used.
    await page.goto("about:blank")  # else the link would be a same-document fragment change
    await page.goto(platform.url("www", f"/reset-password#token={token}"))
    await page.locator("#new_password").fill("Another-Horse-8")
    await page.locator("#reset-form button[type=submit]").click()
    await expect(page.locator("#reset-message [role=alert]")).to_contain_text("auth.reset_token_used")

    await sign_in(page, platform, person.email, password=NEW_PASSWORD)
    await page.goto(platform.url("app", "/account"))
    await expect(page.locator("#email-status")).to_have_text(f"Confirmed: {person.email}")
    await expect(page.locator("#sessions-body tr")).to_have_count(1)
    await expect(page.locator("#sessions-body")).to_contain_text("This device")
    await expect(page.locator("#codes-status")).to_have_text("Turn on two-step verification to get recovery codes.")
    await axe_check(page)

    opened = await page.goto(platform.url("www", "/verify-email#token=emv_not-a-real-link"))
    assert opened is not None and opened.headers["cache-control"] == "no-store"
    await expect(page).to_have_url(platform.url("www", "/verify-email"))
    await expect(page.locator("#verify-message [role=alert]")).to_contain_text("auth.verification_token_invalid")
    await axe_check(page)


async def _password_step(page: Page, platform: Platform, email: str) -> None:
    await page.goto(platform.url("www", "/signin"))
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#signin-form button[type=submit]").click()
    await expect(page.locator("#totp-code")).to_be_focused()


async def test_recovery_codes_at_sign_in(platform: Platform, browser: Browser) -> None:
    email = f"zone-{uuid.uuid4().hex[:6]}@platform.example"
    await create_admin(platform.seed.auth_sessions, platform.seed.hasher, zone_key=platform.zone_key, email=email,
                       password=PASSWORD, display_name="Zone Admin", role="zone_admin")
    # First sign-in turns TOTP on: the new recovery codes are shown once, before going on.
    page = await platform.page(browser, lang="en")
    await _password_step(page, platform, email)
    await expect(page.locator("#use-recovery")).to_be_hidden()  # no codes before TOTP is on
    secret = await page.locator("#totp-secret").text_content()
    assert secret
    await page.locator("#totp-code").fill(totp_code(secret))
    await page.locator("#totp-form button[type=submit]").click()
    await expect(page.locator("#signin-codes-heading")).to_be_focused()
    codes = [c.strip() for c in await page.locator("#signin-codes-list li").all_text_contents()]
    assert len(codes) == 10 and all(re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", c) for c in codes)
    await axe_check(page)
    assert "/signin" in page.url  # stays until the person has the codes
    await page.locator("#signin-codes-continue").click()
    await page.wait_for_url(lambda url: "/signin" not in url)

    # A lost phone, in Korean: a recovery code instead of the authenticator's.
    page = await platform.page(browser, lang="ko")
    await _password_step(page, platform, email)
    toggle = page.locator("#use-recovery")
    await expect(toggle).to_have_text("복구 코드 사용")
    await toggle.click()
    await expect(page.locator("#recovery-code")).to_be_focused()
    await expect(page.locator("#totp-code")).to_be_hidden()
    await expect(toggle).to_have_text("인증 앱의 코드 사용")
    await page.locator("#recovery-code").fill("nope")
    await page.keyboard.press("Enter")
    await expect(page.locator("#signin-message [role=alert]")).to_contain_text("복구 코드를 입력하세요")
    await axe_check(page)
    await page.locator("#recovery-code").fill(codes[0].lower())
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: "/signin" not in url)

    # The code is spent.
    page = await platform.page(browser, lang="en")
    await _password_step(page, platform, email)
    await page.locator("#use-recovery").click()
    await page.locator("#recovery-code").fill(codes[0])
    await page.keyboard.press("Enter")
    await expect(page.locator("#signin-message [role=alert]")).to_contain_text("auth.recovery_code_invalid")
