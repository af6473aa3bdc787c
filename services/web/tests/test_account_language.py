"""The account's language (issue #16: "language from the account or Accept-Language,
switchable"), in a real browser through the edge: auth keeps `users.locale`; mc.js puts a page
in the account's language on sign-in (whatever Accept-Language or an old cookie say, keeping the
URL's fragment), saves the header switch into the account, and the account page's select saves
it too ("as my browser says" = none). A handled `?lang=` leaves the address bar, so a URL copied
from it cannot switch someone else's account. axe on the account page."""
from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from services.web.tests.conftest import Platform, axe_check, shot, sign_in


async def _locale(platform: Platform, token: str) -> str | None:
    me = await platform.ok("GET", "/api/v1/users/me", token)
    return me["locale"]  # type: ignore[no-any-return]


async def _in(page: Page, lang: str) -> None:
    await expect(page.locator("html")).to_have_attribute("lang", lang)


async def _choice(page: Page, value: str) -> None:
    """The account page's select once it shows the account's language (enabled when read)."""
    await expect(page.locator("#language-choice")).to_be_enabled()
    await expect(page.locator("#language-choice")).to_have_value(value)


async def test_pages_follow_the_accounts_language_and_the_switch_saves_it(platform: Platform,
                                                                         browser: Browser) -> None:
    person = await platform.api.register("haneul@visitor.example", "Haneul")
    token = (await platform.api.login(person.email))["access_token"]
    assert await _locale(platform, token) is None
    await platform.ok("PATCH", "/api/v1/users/me", token, json={"locale": "en"})

    # Accept-Language ko, no cookie: signed in, the app's pages come in English.
    page = await platform.page(browser, lang="ko")
    await sign_in(page, platform, person.email)
    await _in(page, "en")
    await expect(page).not_to_have_url(re.compile(r"[?&]lang="))  # handled: not left to be copied or bookmarked
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    assert cookies.get("mc_lang") == "en"  # later pages render in it directly
    await page.goto(platform.url("app", "/account"))
    await _in(page, "en")
    await _choice(page, "en")
    assert "lang=" not in page.url  # the cookie did it: no second trip

    # A cookie saying Korean (another person's choice on this computer): the page is replaced by
    # the account's language, the fragment kept, and it does not loop.
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == "mc_lang"]
    await page.context.add_cookies([{**cookie, "value": "ko"}])
    await page.goto("about:blank")  # else only a same-document fragment change
    # (commit: the page replaces itself through script, which may interrupt its own load)
    await page.goto(platform.url("app", "/account#sessions-heading"), wait_until="commit")
    await _in(page, "en")
    await expect(page).to_have_url(re.compile(r"/account#sessions-heading$"))  # lang= dropped, fragment kept
    await _choice(page, "en")

    # The header's switch: Korean, kept by the account.
    await page.locator("#lang-select").select_option("ko")
    await page.locator("form.lang button[type=submit]").click()
    await _in(page, "ko")
    await _choice(page, "ko")  # read after mc.js saved it
    assert await _locale(platform, token) == "ko"
    await expect(page).not_to_have_url(re.compile(r"[?&]lang="))
    await shot(page, "account-language-switched-ko")

    # Another browser (no cookie, Accept-Language en) lands on Korean pages.
    other = await platform.page(browser, lang="en")
    await sign_in(other, platform, person.email)
    await _in(other, "ko")
    await other.goto(platform.url("app", "/account"))
    await _in(other, "ko")
    await _choice(other, "ko")
    await axe_check(other)

    # The account page's select: English (the page follows), then "as my browser says" (none:
    # the switch's cookie goes too, so this browser's Accept-Language, English, decides).
    await other.locator("#language-choice").select_option("en")
    await other.locator("#language-form button[type=submit]").click()
    await _in(other, "en")
    await expect(other).to_have_url(re.compile(r"/account#language-heading$"))
    await expect(other.locator("#language-heading")).to_be_focused()  # back where the user was
    await expect(other.locator("#language-message")).to_have_text("Language saved.")  # said in the new language
    await _choice(other, "en")
    assert await _locale(platform, token) == "en"

    await other.locator("#language-choice").select_option("")
    await other.locator("#language-form button[type=submit]").click()
    await expect(other.locator("#language-message")).to_have_text("Language saved.")
    await expect(other).to_have_url(re.compile(r"/account#language-heading$"))
    await _choice(other, "")
    await _in(other, "en")
    assert await _locale(platform, token) is None
    assert "mc_lang" not in {c["name"] for c in await other.context.cookies()}
    await axe_check(other)
    await shot(other, "account-language-select")

    # Saved when it needs no new page: the message says so.
    await other.locator("#language-choice").select_option("en")
    await other.locator("#language-form button[type=submit]").click()
    await expect(other.locator("#language-message")).to_have_text("Language saved.")
    assert await _locale(platform, token) == "en"
    assert "lang=" not in other.url
