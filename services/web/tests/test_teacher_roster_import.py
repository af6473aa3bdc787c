"""Teacher package, roster import (issue #16 "must show"): the org admin (roster import needs
`user:create`, which teachers do not hold) uploads a roster workbook on app. `/teach/rosters`,
watches the upload bar and then the import job's bar reach the end, and reads the result with
the per-row error table (one bad row). axe-core on the page before and after."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from playwright.async_api import expect

from services.web.tests.conftest import axe_check, shot, sign_in

ROWS = 1200  # three of tenant's 500-row chunks: the job bar moves more than once
BAD_ROW = 7  # sheet row (the header is row 1) whose grade is not a number


def roster_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.append(["name", "grade", "parent_phone", "class"])
    for i in range(ROWS):
        sheet_row = i + 2
        grade: object = "eleventh" if sheet_row == BAD_ROW else 10 + i % 3
        ws.append([f"Roster Student {i:04d}", grade, f"010-5{i // 10000:03d}-{i % 10000:04d}", f"{10 + i % 3}-B"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# Every value the import bar takes, recorded in the page (never timed): it must only go up, and end at 100.
WATCH_BAR = """() => {
  window.__jobBar = [];
  const bar = document.getElementById("job-bar");
  new MutationObserver(() => window.__jobBar.push(Number(bar.value)))
    .observe(bar, { attributes: true, attributeFilter: ["value"] });
}"""


async def test_org_admin_imports_a_roster_and_watches_the_progress_bar_finish(platform, browser, tmp_path) -> None:
    school = await platform.seed.school()
    page = await platform.page(browser)
    await sign_in(page, platform, school.admin.email, totp_secret=school.admin.totp_secret)
    await page.goto(platform.url("app", "/teach/rosters"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Roster import")
    await expect(page.locator("#recent-status")).to_have_attribute("aria-busy", "false", timeout=15_000)
    await axe_check(page)
    await shot(page, "teacher-roster-before")

    path = tmp_path / "roster-10b.xlsx"
    path.write_bytes(roster_workbook())
    await page.evaluate(WATCH_BAR)
    await page.get_by_label("Roster file (.xlsx)").set_input_files(str(path))
    await page.get_by_role("button", name="Upload and import").click()

    await expect(page.locator("#upload-bar")).to_have_js_property("value", 100, timeout=30_000)
    await expect(page.locator("#job-bar")).to_have_js_property("value", 100, timeout=120_000)
    await expect(page.locator("#job-text")).to_have_text(f"Finished: {ROWS:,} rows", timeout=10_000)
    seen = await page.evaluate("window.__jobBar")
    print(f"\n[teacher-roster] import bar values seen: {seen}")
    assert seen and seen[-1] == 100 and seen == sorted(seen), seen
    await shot(page, "teacher-roster-progress-done")

    result = page.locator("#import-result")
    await expect(result).to_be_visible(timeout=15_000)
    await expect(result.locator("dd[data-field=status]")).to_have_text("finished")
    await expect(result.locator("dd[data-field=created_count]")).to_have_text(f"{ROWS - 1:,}")
    await expect(result.locator("dd[data-field=error_count]")).to_have_text("1")
    errors = page.locator("#row-errors tbody tr")
    await expect(errors).to_have_count(1)
    await expect(errors.first.locator("th")).to_have_text(str(BAD_ROW))
    await expect(errors.first.locator(".err-col")).to_have_text("grade")
    await expect(page.locator("#import-live")).to_contain_text("Import finished")
    # the recent-imports table lists it too
    await expect(page.locator("#recent-table tbody tr").first.locator("th")).to_have_text("roster-10b.xlsx")
    await axe_check(page)
    await shot(page, "teacher-roster-import")
