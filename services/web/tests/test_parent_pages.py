"""Parent pages in a real browser, on real services behind the edge (issue #16 "Must show": a parent
reads a linked child's report). A parent of the school signs in, asks to be linked by the child's
email (pending), the school approves the link through the API (the org admin, as the school would),
and the parent opens the child's report: the exam the child sat, with its status and scores.
A second journey: a signed-in user with no school yet links with a school-issued parent code.
axe-core on every page state; screenshots under test-artifacts/web/parent-*.png.

Seeding goes through the platform's public API only (`platform.ok`), as
tests/integration/test_school_day.py does."""
from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, expect

from services.web.tests.conftest import Platform, axe_check, shot, sign_in
from services.web.tests.seed import Person, School


async def sit(platform: Platform, student: Person, exam: dict[str, Any]) -> dict[str, Any]:
    """The student takes the adaptive exam to the end through the API (CAT stops after max_items)."""
    att = await platform.ok("POST", f"/api/v1/exams/{exam['id']}/start", student.token, 201)
    current = att["current_item"]
    while current is not None:
        ack = await platform.ok("POST", f"/api/v1/attempts/{att['id']}/responses", student.token, 201,
                                json={"item_id": current["id"], "answer": "B"})
        current = ack["next_item"]
    done = await platform.ok("GET", f"/api/v1/attempts/{att['id']}", student.token)
    assert done["status"] == "completed", done
    return dict(done)


async def parent_member(platform: Platform, school: School, email: str, name: str) -> Person:
    """A parent of the school: an account (sign-up) the org admin adds with the `parent` role."""
    parent = await platform.api.register(email, name)
    await platform.ok("POST", f"/api/v1/orgs/{school.org_id}/members", school.admin.token, 201,
                      json={"email": email, "role": "parent"})
    return parent


async def test_a_parent_asks_for_a_link_and_reads_the_childs_report_once_approved(platform: Platform,
                                                                                  browser: Browser) -> None:
    school = await platform.seed.school(n_students=2)
    child, other = school.students
    exam = await platform.seed.adaptive_exam(school, title="Algebra placement")
    attempt = await sit(platform, child, exam)
    parent = await parent_member(platform, school, "mom.kim@hana.example", "Mom Kim")

    page = await platform.page(browser, lang="en")
    await sign_in(page, platform, parent.email, next_url=platform.url("app", "/parent"))
    await page.wait_for_url(re.compile(r"https://app\.univprepai\.com:\d+/parent$"))
    await expect(page.locator("#children")).to_have_text("No linked children yet. Ask for a link below.")
    await expect(page.locator("#requests")).to_have_text("You have not asked for a link yet.")
    await expect(page.locator("#org-field")).to_be_hidden()  # a parent's token names its school
    await axe_check(page)
    await shot(page, "parent-home-empty")

    # Ask by the child's account email: the request is pending.
    await page.locator("#student-email").fill(child.email)
    await page.locator("#by-email button[type=submit]").click()
    await expect(page.locator("#request-result")).to_have_text(
        "Request sent: it is pending until your child or the school approves it.")
    rows = page.locator("#requests tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(".status")).to_have_text("Pending")
    await expect(rows.first.locator(".who")).to_have_text("Shown once approved")
    await expect(rows.first.get_by_role("button", name=re.compile("^Cancel request of "))).to_be_visible()
    await expect(page.locator("#children")).to_have_text("No linked children yet. Ask for a link below.")
    # The same request again is refused by the API, and the page says why.
    await page.locator("#student-email").fill(child.email)
    await page.locator("#by-email button[type=submit]").click()
    await expect(page.locator("#request-result [role=alert]")).to_contain_text("parent_link.exists")
    link_id = await rows.first.get_attribute("data-link-id")
    # A request sent by mistake (the other student) is cancelled from the list.
    await page.locator("#student-email").fill(other.email)
    await page.locator("#by-email button[type=submit]").click()
    await expect(rows).to_have_count(2)
    mistaken = rows.first  # newest first
    assert await mistaken.get_attribute("data-link-id") != link_id
    await axe_check(page)
    await shot(page, "parent-link-pending")
    await mistaken.get_by_role("button", name=re.compile("^Cancel request of ")).click()
    await expect(mistaken.locator(".status")).to_have_text("Cancelled")
    await expect(mistaken.locator("button")).to_have_count(0)
    await expect(rows.nth(1).locator(".status")).to_have_text("Pending")

    # The school approves the child's request (the org admin, through the API).
    pending = (await platform.ok("GET", "/api/v1/parent-links", school.admin.token,
                                 params={"status": "pending"}))["items"]
    assert [(p["id"], p["parent_user_id"], p["student_user_id"]) for p in pending] == \
        [(link_id, parent.user_id, child.user_id)]
    await platform.ok("POST", f"/api/v1/parent-links/{link_id}/approve", school.admin.token)

    await page.reload()
    child_link = page.locator("#children a.child-name")
    await expect(child_link).to_have_text(child.name)
    await expect(page.locator("#children .child-class")).to_have_text(f"grade 10, class {school.class_name}")
    await expect(rows.locator(".status")).to_have_text(["Cancelled", "Approved"])
    await expect(rows.nth(1).locator(".who")).to_have_text(child.name)
    await expect(rows.locator("button")).to_have_count(0)
    await axe_check(page)
    await shot(page, "parent-home-linked")

    # The child's report.
    await child_link.click()
    await page.wait_for_url(re.compile(rf"/parent/children/{child.user_id}$"))
    await expect(page.locator("h1")).to_have_text(f"Report: {child.name}")
    report_rows = page.locator("#report table").first.locator("tbody tr")
    await expect(report_rows).to_have_count(1)
    row = report_rows.first
    assert await row.get_attribute("data-attempt-id") == attempt["id"]
    await expect(row.locator(".a-exam")).to_have_text("Algebra placement")
    await expect(row.locator(".a-status")).to_have_text("Completed")
    await expect(row.locator(".a-answered")).to_have_text("5")
    await expect(row.locator(".a-theta")).to_have_text(re.compile(r"^-?\d+\.\d\d ± \d+\.\d\d$"))
    # One counted attempt: too few in the norm group for a percentile, and the page says so.
    await expect(row.locator(".a-percentile")).to_have_text("too few results to compare")
    await expect(page.locator("#report .s-completed")).to_have_text("1")
    await expect(page.locator("#report .areas th[scope=row]")).to_have_text(["algebra"])
    await expect(page.locator("#report")).to_have_attribute("aria-busy", "false")
    await axe_check(page)
    await shot(page, "parent-child-report")

    # Another student's report stays closed: the API refuses and the page says why.
    await page.goto(platform.url("app", f"/parent/children/{other.user_id}"))
    await expect(page.locator("#report [role=alert]")).to_have_text(
        "This report is not open to you: your link to this student is not approved.")
    await axe_check(page)

    # Korean renders too.
    await page.goto(platform.url("app", f"/parent/children/{child.user_id}?lang=ko"))
    await expect(page.locator("h1")).to_have_text(f"성적표: {child.name}")
    await expect(page.locator("#report .a-status")).to_have_text("완료")
    await axe_check(page)
    await shot(page, "parent-child-report-ko")


async def test_a_new_parent_links_with_a_school_code_and_signs_in_again_as_parent(platform: Platform,
                                                                                  browser: Browser) -> None:
    school = await platform.seed.school(n_students=1)
    child = school.students[0]
    code = await platform.ok("POST", f"/api/v1/rosters/students/{school.roster_ids[child.name]}/parent-codes",
                             school.teacher.token, 201, json={"valid_days": 7})
    dad = await platform.api.register("dad.kim@visitor.example", "Dad Kim")

    # Signed up but in no school yet (a guest): the page asks for the school ID, which the school's
    # link fills in (?org=).
    page = await platform.page(browser, lang="en")
    home = platform.url("app", f"/parent?org={school.org_id}")
    await sign_in(page, platform, dad.email, next_url=home)
    await page.wait_for_url(re.compile(r"/parent\?org="))
    await expect(page.locator("#org-field")).to_be_visible()
    await expect(page.locator("#org-id")).to_have_value(school.org_id)
    await expect(page.locator("#children")).to_contain_text("You are not a parent at a school yet.")
    await axe_check(page)
    await shot(page, "parent-guest-code")

    await page.locator("#parent-code").fill(code["code"])
    await page.locator("#by-code button[type=submit]").click()
    result = page.locator("#request-result")
    await expect(result).to_contain_text("You are now a parent at this school. Sign in again to see your children.")
    links = (await platform.ok("GET", "/api/v1/parent-links", school.admin.token, params={"status": "approved"}))["items"]
    assert [link["student_user_id"] for link in links if link["parent_user_id"] == dad.user_id] == [child.user_id]

    # Signing in again gives the parent token: the child is listed and the code was spent.
    await sign_in(page, platform, dad.email, next_url=platform.url("app", "/parent"))
    await page.wait_for_url(re.compile(r"/parent$"))
    await expect(page.locator("#children a.child-name")).to_have_text(child.name)
    await expect(page.locator("#requests tbody tr .status")).to_have_text(["Approved"])
    await axe_check(page)
    await shot(page, "parent-home-after-code")
