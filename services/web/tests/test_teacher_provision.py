"""Teacher package, provisioning from a roster (issue #16): the org admin imports a roster on app.
`/teach/rosters`, provisions its accounts and watches that job's bar reach the end, downloads the
activation codes as CSV (a Blob download: the sheet is bearer-authenticated) with one row and a
code per student and parent, and is told on a second download that the codes were taken once
(410). Provisioning again with "Issue new activation codes" makes a new sheet, taken as the
printable HTML file; an import without students is refused in words (422). The button pressed
keeps the keyboard focus while its job or download runs (busy buttons are `aria-disabled`, never
`disabled`, which would drop the focus to <body>). axe-core on the page along the way."""
from __future__ import annotations

import csv
import io
import re

from playwright.async_api import expect

from services.web.tests.conftest import WAIT_MS, axe_check, shot, sign_in
from services.web.tests.seed import roster_workbook

NAMES = [f"Provision Student {i:02d} Choi" for i in range(4)]  # each with its own parent phone

# Every value the provisioning bar takes, recorded in the page (never timed): up only, ending at 100.
WATCH_BAR = """() => {
  window.__provisionBar = [];
  const bar = document.getElementById("provision-bar");
  new MutationObserver(() => window.__provisionBar.push(Number(bar.value)))
    .observe(bar, { attributes: true, attributeFilter: ["value"] });
}"""


async def test_org_admin_provisions_a_roster_and_takes_the_activation_codes_once(platform, browser, tmp_path) -> None:
    school = await platform.seed.school()
    page = await platform.page(browser)
    await sign_in(page, platform, school.admin.email, totp_secret=school.admin.totp_secret)
    await page.goto(platform.url("app", "/teach/rosters"))
    await expect(page.locator("#recent-status")).to_have_attribute("aria-busy", "false", timeout=WAIT_MS)

    # Import on the page; the provisioning panel opens for the finished import.
    path = tmp_path / "roster-11c.xlsx"
    path.write_bytes(roster_workbook(NAMES, "11-C"))
    await page.get_by_label("Roster file (.xlsx)").set_input_files(str(path))
    await page.get_by_role("button", name="Upload and import").click()
    await expect(page.locator("#import-live")).to_contain_text("Import finished", timeout=120_000)
    panel = page.locator("#provision")
    await expect(panel).to_be_visible(timeout=WAIT_MS)
    await expect(panel.locator("#provision-import")).to_have_text("Import: roster-11c.xlsx (finished)", timeout=WAIT_MS)
    await axe_check(page)

    # Provision: the job's bar goes up to 100 %, the result is announced.
    await page.evaluate(WATCH_BAR)
    start = panel.get_by_role("button", name="Provision accounts", exact=True)
    await start.focus()
    await page.keyboard.press("Enter")  # by keyboard: the focus must not fall to <body> meanwhile
    await expect(page.locator("#provision-bar")).to_have_js_property("value", 100, timeout=120_000)
    await expect(page.locator("#provision-text")).to_have_text(f"Finished: {len(NAMES)} students", timeout=WAIT_MS)
    live = page.locator("#provision-live")
    # The totals come from the finished job's `result` fields (tenant's Totals), not its `step` text.
    await expect(live).to_have_text(
        f"Provisioning finished: {len(NAMES)} students, {2 * len(NAMES)} new accounts, 0 linked to existing accounts,"
        f" {2 * len(NAMES)} activation codes waiting to be downloaded.", timeout=WAIT_MS)
    # The button kept the focus all along (a `disabled` one loses it to <body> for good).
    await expect(start).to_be_focused()
    await expect(start).not_to_have_attribute("aria-disabled", "true")
    seen = await page.evaluate("window.__provisionBar")
    print(f"\n[teacher-provision] provisioning bar values seen: {seen}")
    assert seen and seen[-1] == 100 and seen == sorted(seen), seen
    await expect(page.locator("#provision-summary dd[data-field=students]")).to_have_text(str(len(NAMES)))
    await expect(page.locator("#provision-summary dd[data-field=codes]")).to_have_text(str(2 * len(NAMES)))
    await expect(page.locator("#provision-summary dd[data-field=created]")).to_have_text(str(2 * len(NAMES)))
    await expect(page.locator("#provision-summary dd[data-field=linked]")).to_have_text("0")
    await shot(page, "teacher-provision-done")

    # The codes as CSV: one row per student and per parent, each with a code.
    async with page.expect_download() as info:
        await panel.get_by_role("button", name="Download codes (CSV)").click()
    download = await info.value
    # The server's name (Content-Disposition, exposed to pages by the edge) and its exact bytes
    # (api()'s raw Response): the BOM Excel needs is the server's, not re-added by the page.
    assert re.fullmatch(r"activation-codes-[0-9a-f-]{36}\.csv", download.suggested_filename), download.suggested_filename
    raw = (await download.path()).read_bytes()
    assert raw.startswith("\ufeff".encode()) and not raw.startswith("\ufeff\ufeff".encode()), raw[:20]
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    students = [r for r in rows if r["role"] == "student"]
    parents = [r for r in rows if r["role"] == "parent"]
    assert sorted(r["name"] for r in students) == NAMES, rows
    assert len(parents) == len(NAMES), rows
    assert all(r["code"] and r["login_id"] for r in rows), rows
    await expect(live).to_contain_text(f"Activation codes downloaded ({2 * len(NAMES)} people)", timeout=WAIT_MS)

    # Taken once: a second download (either format) is explained, not a bare error; the button
    # pressed keeps the focus, next to the explanation.
    csv_button = panel.get_by_role("button", name="Download codes (CSV)")
    await csv_button.focus()
    await page.keyboard.press("Enter")
    taken = page.locator("#sheet-error [role=alert]")
    await expect(taken).to_contain_text("No activation code is waiting for this import", timeout=WAIT_MS)
    await expect(csv_button).to_be_focused()
    await expect(taken).to_contain_text("provision again with “Issue new activation codes” ticked")
    await expect(taken).to_contain_text("roster_provision.sheet_taken")
    await axe_check(page)
    await shot(page, "teacher-provision-sheet-taken")

    # A lost sheet: provision again with new codes, then take them as the printable cards.
    await page.get_by_label("Issue new activation codes").check()
    await panel.get_by_role("button", name="Provision accounts", exact=True).click()
    await expect(live).to_have_text(
        f"Provisioning finished: {len(NAMES)} students, 0 new accounts, 0 linked to existing accounts,"
        f" {2 * len(NAMES)} activation codes waiting to be downloaded.", timeout=120_000)
    await expect(page.locator("#sheet-error")).to_be_empty()
    async with page.expect_download() as info:
        await panel.get_by_role("button", name="Download printable cards (HTML)").click()
    download = await info.value
    assert download.suggested_filename.endswith(".html"), download.suggested_filename
    html = (await download.path()).read_text(encoding="utf-8")
    old_rows = rows  # the first sheet's rows: their codes stopped working
    assert all(name in html for name in NAMES), html[:500]
    assert all(row["code"] not in html for row in old_rows), "reissued codes must be new"
    # One card per student and per parent, each with its own (new) code.
    new_codes = re.findall(r'<dd class="code">([^<]+)</dd>', html)
    assert len(re.findall(r'<section class="card (?:student|parent)">', html)) == len(old_rows), html[:500]
    assert len(new_codes) == len(set(new_codes)) == len(old_rows) and all(new_codes), new_codes
    await expect(live).to_contain_text("Printable activation cards downloaded", timeout=WAIT_MS)

    # The recent-imports list offers the same panel for an earlier import (the seeder's).
    seeded = page.locator("#recent-table tbody tr").last
    await seeded.get_by_role("button", name="Provision accounts from roster.xlsx").click()
    await expect(panel.locator("#provision-import")).to_have_text("Import: roster.xlsx (finished)", timeout=WAIT_MS)
    await expect(page.locator("#provision-h")).to_be_focused(timeout=WAIT_MS)
    await axe_check(page)
    await shot(page, "teacher-provision")

    # An import whose only row was refused has no student to provision: said in words (422).
    path = tmp_path / "roster-bad.xlsx"
    path.write_bytes(roster_workbook([], "11-C", extra_rows=[["Bad Grade Kim", "eleventh", "010-7777-0001", "11-C"]]))
    await page.get_by_label("Roster file (.xlsx)").set_input_files(str(path))
    await page.get_by_role("button", name="Upload and import").click()
    await expect(panel.locator("#provision-import")).to_have_text("Import: roster-bad.xlsx (finished)", timeout=120_000)
    await panel.get_by_role("button", name="Provision accounts", exact=True).click()
    refused = page.locator("#provision-error [role=alert]")
    await expect(refused).to_contain_text("This import has no students to provision", timeout=WAIT_MS)
    await expect(refused).to_contain_text("a newer import of these students replaced it")
    await expect(refused).to_contain_text("roster_provision.no_students")
    await axe_check(page)
