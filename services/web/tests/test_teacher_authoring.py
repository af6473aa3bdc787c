"""Teacher package, authoring in the browser: a teacher creates an item bank, imports items from
a CSV (one bad row: the per-row report shows it), builds a fixed exam for its class from them,
publishes it, and sees that no one has taken it yet (the class roster as "not started")."""
from __future__ import annotations

import re

from playwright.async_api import expect

from services.web.tests.conftest import Platform, axe_check, shot, sign_in

ITEMS_CSV = (
    "code,stem,a,b,c,content_area,options,answer_key\n"
    "ALG-1,What is 2 + 2?,1.0,-0.5,0.2,algebra,A=3|B=4|C=5,B\n"
    "ALG-2,What is 3 × 3?,1.2,0.0,0.2,algebra,A=6|B=9|C=12,B\n"
    "ALG-3,Solve x + 1 = 3,0.9,hard,0.2,algebra,A=1|B=2|C=3,B\n"  # row 4: b is not a number
    "ALG-4,What is 10 / 2?,1.1,0.4,0.2,algebra,A=2|B=5|C=8,B\n"
)


async def test_teacher_builds_and_publishes_an_exam_in_the_browser(platform: Platform, browser, tmp_path) -> None:
    school = await platform.seed.school(n_students=2)
    page = await platform.page(browser)
    await sign_in(page, platform, school.teacher.email, next_url=platform.url("app", "/teach"))

    # A bank, then items from a CSV with one bad row.
    await page.goto(platform.url("app", "/teach/items"))
    await expect(page.locator("#banks-status")).to_have_attribute("aria-busy", "false")
    await page.get_by_label("Name", exact=True).fill("Algebra I")
    await page.get_by_role("button", name="Create bank").click()
    await expect(page.locator("#banks-table tbody tr")).to_have_count(1)
    await expect(page.get_by_label("Bank", exact=True)).to_have_value(re.compile(r"^[0-9a-f-]{36}$"))
    csv_path = tmp_path / "algebra.csv"
    csv_path.write_text(ITEMS_CSV, encoding="utf-8")
    await page.get_by_label("Item file (.csv or .xlsx)").set_input_files(str(csv_path))
    await page.locator("#item-import-form").get_by_role("button", name="Upload and import").click()
    report = page.locator("#item-import-result")
    await expect(report).to_be_visible()
    await expect(report.locator("dd[data-field=created_rows]")).to_have_text("3")
    await expect(report.locator("dd[data-field=error_rows]")).to_have_text("1")
    await expect(page.locator("#item-errors tbody tr")).to_have_count(1)
    await expect(page.locator("#item-errors tbody tr th")).to_have_text("4")
    await expect(page.locator("#item-errors tbody tr .err-col")).to_have_text("b")
    await expect(page.locator("#item-upload-bar")).to_have_js_property("value", 100)
    await axe_check(page)
    await shot(page, "teacher-item-import")

    # A fixed exam of those items for the class; created as a draft, then published.
    await page.goto(platform.url("app", "/teach/exams"))
    await expect(page.locator("#exams-status")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#fixed-items-list input[type=checkbox]")).to_have_count(3)
    await page.get_by_label("Title", exact=True).fill("Algebra check")
    await page.get_by_label("Class", exact=True).select_option(label=school.class_name)
    await page.get_by_label("Time limit in minutes (empty: untimed)").fill("20")
    await axe_check(page)
    await shot(page, "teacher-exam-create")
    await page.get_by_role("button", name="Create draft").click()
    await expect(page).to_have_url(re.compile(r"/teach/exams/[0-9a-f-]{36}$"))
    await expect(page.locator("#exam-title")).to_have_text("Algebra check")
    facts = page.locator("#exam-facts")
    await expect(facts.locator("dd[data-field=status]")).to_have_text("draft")
    await expect(facts.locator("dd[data-field=items]")).to_have_text("3 items")
    await expect(facts.locator("dd[data-field=class]")).to_have_text(school.class_name)
    await page.get_by_role("button", name="Publish").click()
    await expect(facts.locator("dd[data-field=status]")).to_have_text("published")
    await expect(page.get_by_role("button", name="Publish")).to_be_hidden()

    # No one has taken it: the class roster is "not started".
    await expect(page.locator("#takers-status")).to_have_text("No one in this list.")
    await page.get_by_label("Show", exact=True).select_option("not_started")
    await expect(page.locator("#takers-table tbody tr")).to_have_count(len(school.students))
    await axe_check(page)
    await shot(page, "teacher-exam-published")
