"""app `/activate` (issue #16, roster provisioning): a school imports a roster and provisions it
through the API, takes the printable activation sheet, and a student opens the URL their card's
QR code holds (`/activate#login=…&code=…`: the one-time code in the fragment, never sent). The
page fills the form from the fragment and drops it from the address bar, is not cached and sends
no Referer; a mistyped confirmation and a weak password are explained, then the student
activates and lands signed in on their app pages. The same code again: "used already", with the
focus on that message. axe on each state. A sheet printed before the fragment URL
(`?login=…&code=…`): the code is moved out of the query before the page is rendered, the form
is prefilled, and switching language keeps it. Then a wrong code (Korean): told to check the
sheet, and after repeated tries for how long auth blocks the login id."""
from __future__ import annotations

import html
import re
import urllib.parse

# qrcode ships no type information (see tenant's sheet.py).
import qrcode  # type: ignore[import-untyped]
import qrcode.constants  # type: ignore[import-untyped]
from playwright.async_api import Browser, expect
from qrcode.image.svg import SvgPathImage  # type: ignore[import-untyped]

from services.web.tests.conftest import Platform, axe_check, shot
from services.web.tests.seed import XLSX, roster_workbook

NEW_PASSWORD = "Fresh-Start-42!"
SHEET_ORIGIN = "https://app.univprepai.com"  # the sheet's QR host: the app host of the zone domain the school's API call came in on


def qr_of(data: str) -> str:
    """qrcode's SVG of `data`, made here as tenant's sheet makes it: equal SVGs hold equal data."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, image_factory=SvgPathImage)
    qr.add_data(data)
    qr.make(fit=True)
    return str(qr.make_image().to_string(encoding="unicode"))


def student_cards(sheet: str) -> list[dict[str, str]]:
    """The student cards of the printable sheet: name, login id, code and the QR's SVG."""
    cards = []
    for body in re.findall(r'<section class="card student">(.*?)</section>', sheet, re.S):
        cards.append({"name": html.unescape(re.search(r"<h2>(.*?)</h2>", body).group(1)),  # type: ignore[union-attr]
                      "login_id": html.unescape(re.search(r"<dt>Login id</dt><dd>(.*?)</dd>", body).group(1)),  # type: ignore[union-attr]
                      "code": html.unescape(re.search(r'<dd class="code">(.*?)</dd>', body).group(1)),  # type: ignore[union-attr]
                      "svg": re.search(r"<svg\b.*?</svg>", body, re.S).group(0)})  # type: ignore[union-attr]
    return cards


async def test_a_student_activates_from_the_sheet_qr_and_lands_signed_in(platform: Platform, browser: Browser) -> None:
    api = platform.api
    school = await platform.seed.school(n_students=1)
    admin = school.admin
    names = ["Minji Seo", "Jisoo Han"]
    accepted = await api.ok("POST", "/api/v1/rosters/imports", admin.token, 202,
                            files={"file": ("10-c.xlsx", roster_workbook(names, "10-C"), XLSX)})
    assert (await api.wait_job(admin.token, accepted["id"]))["status"] == "succeeded"
    prov = await api.ok("POST", f"/api/v1/rosters/imports/{accepted['id']}/provision", admin.token, 202, json={})
    assert (await api.wait_job(admin.token, prov["job_id"]))["status"] == "succeeded"
    sheet = await api.ok("GET", f"/api/v1/rosters/imports/{accepted['id']}/activation-sheet", admin.token,
                         params={"format": "html"})
    cards = {c["name"]: c for c in student_cards(sheet.text)}
    assert sorted(cards) == sorted(names)
    card = cards["Minji Seo"]

    # The URL out of the card's QR code: the code rides in the fragment, never in the query.
    qr_url = f"{SHEET_ORIGIN}/activate#" + urllib.parse.urlencode({"login": card["login_id"], "code": card["code"]})
    assert card["svg"] == qr_of(qr_url)
    assert "?" not in qr_url and card["code"] not in qr_url.split("#")[0]
    url = qr_url.replace(SHEET_ORIGIN, platform.url("app", "").rstrip("/"))

    page = await platform.page(browser, lang="en")
    opened = await page.goto(url)
    assert opened is not None and opened.headers["cache-control"] == "no-store"
    assert await page.locator("meta[name=referrer]").get_attribute("content") == "no-referrer"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Activate your account")
    await expect(page).to_have_url(platform.url("app", "/activate"))  # the fragment is gone
    await expect(page.get_by_label("Login id")).to_have_value(card["login_id"])
    await expect(page.get_by_label("Activation code")).to_have_value(card["code"])
    await expect(page.locator("#new_password")).to_be_focused()
    await axe_check(page)
    await shot(page, "public-activate-form")

    # The confirmation does not match: said next to the form, focus on the field to fix.
    await page.locator("#new_password").fill(NEW_PASSWORD)
    await page.locator("#confirm_password").fill(NEW_PASSWORD + "x")
    await page.keyboard.press("Enter")
    await expect(page.locator("#activate-message [role=alert]")).to_contain_text("passwords are not the same")
    await expect(page.locator("#confirm_password")).to_be_focused()
    await expect(page.locator("#confirm_password")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#confirm_password")).to_have_attribute("aria-describedby", "activate-message")
    # Too weak for auth's policy: the stable code, the policy in plain words.
    await page.locator("#new_password").fill("weakpass")
    await page.locator("#confirm_password").fill("weakpass")
    await page.get_by_role("button", name="Activate and sign in").click()
    alert = page.locator("#activate-message [role=alert]")
    await expect(alert).to_contain_text("Choose a stronger password")
    await expect(alert).to_contain_text("auth.password_weak")
    await expect(page.locator("#new_password")).to_be_focused()
    await expect(page.locator("#new_password")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#new_password")).to_have_attribute("aria-describedby",
                                                                  "activate-password-hint activate-message")
    await expect(page.locator("#confirm_password")).not_to_have_attribute("aria-invalid", "true")
    await axe_check(page)
    await shot(page, "public-activate-weak-password")

    await page.locator("#new_password").fill(NEW_PASSWORD)
    await page.locator("#confirm_password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Activate and sign in").click()
    # Signed in (refresh cookie set by auth's login) and sent by app's home to the student's pages.
    await page.wait_for_url(platform.url("app", "/exams"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("My exams")
    await expect(page.get_by_role("link", name="My exams")).to_be_visible()
    await expect(page.locator("#signout")).to_be_visible()
    await shot(page, "public-activate-signed-in")

    # The new password works at sign-in too.
    tokens = await api.login(card["login_id"], NEW_PASSWORD)
    assert tokens["role"] == "student"

    # The same QR again (another device): the code is spent.
    page = await platform.page(browser, lang="en")
    await page.goto(url)
    await page.locator("#new_password").fill("Another-Start-43!")
    await page.locator("#confirm_password").fill("Another-Start-43!")
    await page.get_by_role("button", name="Activate and sign in").click()
    alert = page.locator("#activate-message [role=alert]")
    await expect(alert).to_contain_text("This activation code was used already")
    await expect(alert).to_contain_text("auth.activation_used")
    await expect(alert).to_be_focused()  # nothing to fix in the form: the keyboard goes on from the message
    await expect(page.locator("#main").get_by_role("link", name="Sign in")).to_be_visible()
    await axe_check(page)
    await shot(page, "public-activate-used")

    # A sheet printed before the fragment URL: its QR holds the code in the query. The server moves it
    # into the fragment before anything is rendered (so neither the language form nor a Referer
    # carries it), and the page fills the form from there and drops it.
    other = cards["Jisoo Han"]
    legacy = platform.url("app", "/activate?") + urllib.parse.urlencode({"login": other["login_id"], "code": other["code"]})
    page = await platform.page(browser, lang="en")
    opened = await page.goto(legacy)
    assert opened is not None and opened.headers["cache-control"] == "no-store"
    assert opened.request.redirected_from is not None
    assert opened.request.redirected_from.url == legacy
    await expect(page).to_have_url(platform.url("app", "/activate"))
    await expect(page.get_by_label("Login id")).to_have_value(other["login_id"])
    await expect(page.get_by_label("Activation code")).to_have_value(other["code"])
    await expect(page.locator("#new_password")).to_be_focused()
    await expect(page.locator("form.lang input[type=hidden]")).to_have_count(0)
    assert other["code"] not in await page.content()

    # Switching to Korean keeps what came from the sheet (through the fragment again, dropped again).
    await page.locator("#lang-select").select_option("ko")
    await page.locator("form.lang button[type=submit]").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("계정 활성화")
    await expect(page).to_have_url(platform.url("app", "/activate?lang=ko"))
    await expect(page.locator("#login_id")).to_have_value(other["login_id"])
    await expect(page.locator("#code")).to_have_value(other["code"])
    await expect(page.locator("form.lang input[type=hidden]")).to_have_count(0)

    # In Korean, with a wrong code: told to check the sheet; then too many tries.
    await page.locator("#code").fill("ZZZZZ-ZZZZZ")
    await page.locator("#new_password").fill(NEW_PASSWORD)
    await page.locator("#confirm_password").fill(NEW_PASSWORD)
    await page.keyboard.press("Enter")
    alert = page.locator("#activate-message [role=alert]")
    await expect(alert).to_contain_text("로그인 아이디나 활성화 코드가 맞지 않습니다")
    await expect(alert).to_contain_text("auth.activation_invalid")
    await expect(page.locator("#code")).to_be_focused()
    await expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")
    await axe_check(page)
    await shot(page, "public-activate-invalid-ko")

    # Guessing on: auth blocks the login id for a while, and the page says for how long.
    button = page.get_by_role("button", name="활성화하고 로그인")
    for _ in range(6):
        if "auth.too_many_attempts" in (await alert.text_content() or ""):
            break
        await page.keyboard.press("Enter")  # the button stays disabled until auth answered
        await expect(button).to_be_enabled()
    await expect(alert).to_contain_text("auth.too_many_attempts")
    # auth's Retry-After (its 15-minute block) in minutes
    await expect(alert).to_contain_text("15분 기다린 뒤 다시 시도하세요")
    await expect(alert).to_be_focused()
    await expect(page.locator("#code")).not_to_have_attribute("aria-invalid", "true")
    await axe_check(page)
