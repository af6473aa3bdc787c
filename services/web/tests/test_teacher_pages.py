"""Teacher package: every /teach page for a teacher whose class sat a fixed exam (seeded through
the public API: bank, items, exam, students' attempts). The analytics page draws its charts
(score distribution, θ histogram, item p-values, point-biserials, exposure) with a data table
each; the exam page lists who has and has not taken it; axe-core on every page."""
from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from services.web.tests.conftest import Platform, axe_check, shot, sign_in
from services.web.tests.seed import School

# Students × items: 1 = answered right. Every item varies (p-values 0.8 … 0.4), so every
# point-biserial is computable; the sixth student never starts (the "has not taken" list).
ANSWERS = [
    [1, 0, 0, 0, 0],
    [1, 1, 0, 0, 0],
    [1, 1, 1, 0, 1],
    [0, 1, 1, 1, 0],
    [1, 1, 1, 1, 1],
]
N_STUDENTS = len(ANSWERS) + 1
EXAM_TITLE = "Unit 3 quiz"


async def fixed_exam_with_attempts(platform: Platform, school: School) -> dict[str, Any]:
    teacher = school.teacher.token
    bank = await platform.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Unit 3 bank"})
    item_ids = []
    for k in range(len(ANSWERS[0])):
        item = await platform.ok("POST", "/api/v1/items", teacher, 201, json={
            "bank_id": bank["id"], "code": f"U3-{k + 1:02d}", "stem": f"Unit 3, question {k + 1}",
            "content_area": "algebra", "answer_key": "B", "options": [{"key": c, "text": f"Option {c}"} for c in "ABCD"],
            "model": "logistic", "a": 1.0 + 0.2 * k, "b": -1.0 + 0.5 * k, "c": 0.0, "enemy_tags": []})
        item_ids.append(item["id"])
    exam = await platform.ok("POST", "/api/v1/exams", teacher, 201, json={
        "title": EXAM_TITLE, "kind": "fixed", "item_bank_id": bank["id"], "item_ids": item_ids,
        "class_id": school.class_id, "time_limit_seconds": 1800})
    exam = await platform.ok("POST", f"/api/v1/exams/{exam['id']}/publish", teacher)
    for student, row in zip(school.students, ANSWERS):
        attempt = await platform.ok("POST", f"/api/v1/exams/{exam['id']}/start", student.token, 201)
        current = attempt["current_item"]
        while current is not None:
            right = row[item_ids.index(current["id"])]
            ack = await platform.ok("POST", f"/api/v1/attempts/{attempt['id']}/responses", student.token, 201,
                                    json={"item_id": current["id"], "answer": "B" if right else "A"})
            current = ack["next_item"]
        await platform.ok("POST", f"/api/v1/attempts/{attempt['id']}/submit", student.token)
    return dict(exam)


async def visit(page: Page, platform: Platform, path: str, ready: str) -> None:
    """Open a page and wait for its live region to settle (aria-busy false)."""
    await page.goto(platform.url("app", path))
    await expect(page.locator(ready)).to_have_attribute("aria-busy", "false")


async def test_teacher_pages_and_the_analytics_charts(platform: Platform, browser) -> None:
    school = await platform.seed.school(n_students=N_STUDENTS)
    exam = await fixed_exam_with_attempts(platform, school)
    page = await platform.page(browser)
    await sign_in(page, platform, school.teacher.email, next_url=platform.url("app", "/teach"))

    # Home: links to every teacher page.
    await page.goto(platform.url("app", "/teach"))
    await expect(page.locator("#teach-who")).to_have_text("Signed in as teacher.")
    for name in ("My classes", "Roster import", "Item banks", "Exams", "Analytics"):
        await expect(page.locator("main").get_by_role("link", name=name, exact=True)).to_be_visible()
    await axe_check(page)
    await shot(page, "teacher-home")

    # Classes and the roster.
    await visit(page, platform, "/teach/classes", "#classes-status")
    await page.get_by_role("link", name=school.class_name).click()
    await expect(page.locator("#class-status")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#students-table tbody tr")).to_have_count(N_STUDENTS)
    await expect(page.locator("#teacher-list")).to_have_text("You")  # no roster record names this teacher
    first = school.students[0].name
    await page.get_by_role("button", name=f"Issue code for {first}").click()
    await expect(page.locator("#students-table tbody tr", has_text=first).locator("output")).to_contain_text("Code ")
    await axe_check(page)
    await shot(page, "teacher-class-roster")

    # Item banks.
    await visit(page, platform, "/teach/items", "#banks-status")
    await page.get_by_role("button", name="Show items of Unit 3 bank").click()
    await expect(page.locator("#items-table tbody tr")).to_have_count(len(ANSWERS[0]))
    await axe_check(page)
    await shot(page, "teacher-items")

    # Exams, then who has and has not taken this one.
    await visit(page, platform, "/teach/exams", "#exams-status")
    await expect(page.get_by_role("link", name=EXAM_TITLE)).to_be_visible()
    await axe_check(page)
    await page.get_by_role("link", name=EXAM_TITLE).click()
    await expect(page.locator("#takers-status")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#exam-title")).to_have_text(EXAM_TITLE)
    await expect(page.locator("#takers-table tbody tr")).to_have_count(len(ANSWERS))
    await page.get_by_label("Show", exact=True).select_option("not_started")
    absent = school.students[-1].name
    await expect(page.locator("#takers-table tbody tr")).to_have_count(1)
    await expect(page.locator("#takers-table tbody tr th")).to_have_text(absent)
    await axe_check(page)
    await shot(page, "teacher-exam-takers")

    # Analytics: the overview, then the exam's charts.
    await visit(page, platform, "/teach/analytics", "#an-status")
    await expect(page.locator("#an-exams tbody tr")).to_have_count(1)
    await expect(page.locator("#an-exams-chart svg[role=img]")).to_have_count(1)
    await axe_check(page)
    await shot(page, "teacher-analytics")

    await page.get_by_role("link", name=EXAM_TITLE).click()
    await expect(page.locator("#ax-status")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#ax-status")).to_have_text(f"Analytics loaded: {len(ANSWERS)} scored attempts.")
    for chart in ("#chart-scores", "#chart-theta", "#chart-p", "#chart-pb", "#chart-exposure"):
        svg = page.locator(f"{chart} svg[role=img]")
        await expect(svg).to_have_count(1)
        await expect(svg).to_have_attribute("aria-labelledby", "ax-" + {
            "#chart-scores": "scores", "#chart-theta": "theta", "#chart-p": "p", "#chart-pb": "pb",
            "#chart-exposure": "exp"}[chart] + "-h")
        await expect(page.locator(f"{chart} .chart-desc")).not_to_be_empty()
        await expect(page.locator(f"{chart} details table")).to_have_count(1)
    # one bar per scored attempt's bin in total, one bar per item in the item charts
    scores_total = await page.locator("#chart-scores details tbody td:nth-child(2)").all_text_contents()
    assert sum(int(x) for x in scores_total) == len(ANSWERS), scores_total
    await expect(page.locator("#chart-p details tbody tr")).to_have_count(len(ANSWERS[0]))
    await expect(page.locator("#chart-p details tbody tr").first).to_contain_text("U3-01")
    await expect(page.locator("#chart-p details tbody tr").first.locator("td").first).to_have_text("0.80")
    await expect(page.locator("#chart-pb .chart-bar")).to_have_count(len(ANSWERS[0]))
    await expect(page.locator("#chart-exposure details tbody tr").first.locator("td").first).to_have_text("1.00")
    await expect(page.locator("#ax-criterion")).to_contain_text("rest score")
    await page.locator("#chart-p details summary").click()  # the data table opens from the keyboard too
    await expect(page.locator("#chart-p details table")).to_be_visible()
    await axe_check(page)
    await shot(page, "teacher-analytics-exam")
    assert exam["status"] == "published"
