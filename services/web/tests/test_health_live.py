"""The admin health page is the one page whose data web renders itself (each service's /readyz,
probed server-side), so it is progressively enhanced with htmx rather than a page script:
"Check again" is a plain link without script, and with htmx it swaps the freshly rendered table
in place — no navigation, under the pages' CSP (htmx's inline indicator styles are off)."""
from __future__ import annotations

from playwright.async_api import Browser, expect

from services.web.tests.conftest import Platform, axe_check


async def test_check_again_swaps_the_server_rendered_table_in_place(platform: Platform, browser: Browser) -> None:
    page = await platform.page(browser, lang="en")
    await page.goto(platform.url("admin", "/health"))
    await page.wait_for_function("() => window.htmx !== undefined")
    live = page.locator("#health-live")
    await expect(live.locator("tr[data-service=auth]")).to_have_attribute("data-state", "ready")
    first = await live.get_attribute("data-checked-at")
    await page.evaluate("window.stillHere = true")  # gone if the browser navigated

    await page.get_by_role("link", name="Check again").click()
    await expect(live).not_to_have_attribute("data-checked-at", first or "")
    assert await page.evaluate("window.stillHere === true"), "htmx swapped nothing: the page was reloaded"
    await expect(live.locator("tr[data-service=web]")).to_have_attribute("data-state", "ready")
    await expect(live.locator("tr[data-service=inference]")).to_have_attribute("data-state", "unreachable")
    await axe_check(page)  # also: no CSP refusal (htmx must not inject inline styles)
