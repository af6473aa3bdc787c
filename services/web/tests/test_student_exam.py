"""Student pages in a real browser, on real services behind the edge (issue #16 "Must show"):
a student takes an ADAPTIVE exam to the end with the keyboard only (Tab, arrow keys, Space,
Enter: no mouse), a reload mid-exam resumes at the same item, "answer saved" appears only once
the API acknowledged the answer, and the result page shows θ and SE with their explanation;
the student answers parent-link requests on /links. axe-core on every page; screenshots.

Seeding goes through the platform's public API only (`platform.ok`), as
tests/integration/test_school_day.py does: the teacher of seed.school() builds an item bank,
an adaptive exam for its class (min = max = 5 items: CAT stops after 5) and a fixed quiz.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import Locator, Page, Route, expect

from services.web.tests.conftest import axe_check, shot, sign_in

PASSWORD = "Correct-Horse-9"
BANK_SIZE = 12
ADAPTIVE_ITEMS = 5
WAIT = 20_000  # ms: bounds a hang only


async def seed_exams(platform: Any, school: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An adaptive exam (timed, 5 items) and a fixed quiz, published for the school's class."""
    teacher = school.teacher.token
    bank = await platform.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Algebra placement"})
    items = []
    for k in range(BANK_SIZE):
        items.append(await platform.ok("POST", "/api/v1/items", teacher, 201, json={
            "bank_id": bank["id"], "code": f"P{k:02d}", "stem": f"Question stem {k}: what is {k} + {k}?",
            "content_area": "algebra", "answer_key": "B",
            "options": [{"key": c, "text": f"option {c} of item {k}"} for c in "ABCD"], "model": "logistic",
            "a": 0.8 + (k % 4) * 0.3, "b": -2.0 + 4.0 * k / (BANK_SIZE - 1), "c": 0.1, "enemy_tags": []}))
    adaptive = await platform.ok("POST", "/api/v1/exams", teacher, 201, json={
        "title": "Algebra placement (adaptive)", "description": "Finds your level in 5 questions.",
        "kind": "adaptive", "item_bank_id": bank["id"], "class_id": school.class_id, "time_limit_seconds": 1800,
        "cat_settings": {"min_items": ADAPTIVE_ITEMS, "max_items": ADAPTIVE_ITEMS}})
    adaptive = await platform.ok("POST", f"/api/v1/exams/{adaptive['id']}/publish", teacher)
    fixed = await platform.ok("POST", "/api/v1/exams", teacher, 201, json={
        "title": "Unit 3 quiz", "kind": "fixed", "item_bank_id": bank["id"], "class_id": school.class_id,
        "item_ids": [i["id"] for i in items[:3]]})
    fixed = await platform.ok("POST", f"/api/v1/exams/{fixed['id']}/publish", teacher)
    return adaptive, fixed


async def is_focused(loc: Locator) -> bool:
    return bool(await loc.evaluate("e => e === document.activeElement"))


async def tab_to(page: Page, loc: Locator, limit: int = 80) -> None:
    """Press Tab until `loc` has the focus (keyboard only; bounded)."""
    for _ in range(limit):
        if await is_focused(loc):
            return
        await page.keyboard.press("Tab")
    assert await is_focused(loc), "Tab never reached the control"


async def answer_with_keyboard(page: Page, k: int) -> None:
    """Focus is on the item heading: Tab into the radio group, pick, send. Two key paths:
    even items ArrowDown (moves to option B and checks it) then Enter on the radio; odd items
    Space (checks option A) then Tab to the save button and Enter."""
    await expect(page.locator("#item-heading")).to_be_focused(timeout=WAIT)
    await page.keyboard.press("Tab")
    first = page.locator("#item-options input[type=radio]").first
    await expect(first).to_be_focused()
    if k % 2 == 0:
        await page.keyboard.press("ArrowDown")
        await expect(page.locator("#item-options input[type=radio]").nth(1)).to_be_checked()
        await page.keyboard.press("Enter")
    else:
        await page.keyboard.press("Space")
        await expect(first).to_be_checked()
        await page.keyboard.press("Tab")
        await expect(page.locator("#save-button")).to_be_focused()
        await page.keyboard.press("Enter")


async def answer_held(page: Page, k: int) -> None:
    """Answer while the API's acknowledgement is held back: the page says "Saving…", never
    "Answer saved.", until the reply arrives."""
    gate = asyncio.Event()

    async def hold(route: Route) -> None:
        await gate.wait()
        await route.continue_()

    status = page.locator("#save-status")
    await page.route("**/api/v1/attempts/*/responses", hold)
    try:
        await answer_with_keyboard(page, k)
        await expect(status).to_have_text("Saving your answer…")
        await expect(page.locator("#item-heading")).to_have_text(f"Question {k + 1}")  # not acknowledged yet
    finally:
        gate.set()
    await expect(status).to_have_text("Answer saved.", timeout=WAIT)
    await page.unroute("**/api/v1/attempts/*/responses", hold)


async def shown_number(page: Page, selector: str) -> float:
    """A number as the page shows it (Intl, English: either minus sign, thousands commas)."""
    text = (await page.locator(selector).text_content() or "").strip()
    assert re.fullmatch(r"[-−]?[\d,]+(\.\d+)?", text), (selector, text)
    return float(text.replace("−", "-").replace(",", ""))


async def test_student_takes_an_adaptive_exam_with_the_keyboard_only(platform, browser) -> None:
    school = await platform.seed.school()
    adaptive, fixed = await seed_exams(platform, school)
    student = school.students[0]
    page = await platform.page(browser)
    await sign_in(page, platform, student.email, PASSWORD)

    # -- /exams: both exams, not started; reach the adaptive one's Start link with Tab. ---------
    await page.goto(platform.url("app", "/exams"))
    table = page.locator("#exam-table")
    await expect(table).to_be_visible(timeout=WAIT)
    row = table.locator("tbody tr", has=page.locator("th", has_text=adaptive["title"]))
    await expect(row.locator(".exam-status")).to_have_text("Not started")
    await expect(table.locator("tbody tr", has=page.locator("th", has_text=fixed["title"]))).to_have_count(1)
    await axe_check(page)
    await shot(page, "student-exams")
    start_link = row.get_by_role("link", name=f"Start {adaptive['title']}")
    await tab_to(page, start_link)
    await page.keyboard.press("Enter")

    # -- intro, then Start with the keyboard. -----------------------------------------------------
    await expect(page).to_have_url(re.compile(f"/exams/{adaptive['id']}$"), timeout=WAIT)
    await expect(page.locator("#intro")).to_be_visible(timeout=WAIT)
    await expect(page.locator("h1")).to_have_text(adaptive["title"])
    await axe_check(page)
    await shot(page, "student-exam-intro")
    await tab_to(page, page.locator("#start-button"))
    await page.keyboard.press("Enter")

    # -- item by item, keyboard only. ----------------------------------------------------------
    heading, stem, status = page.locator("#item-heading"), page.locator("#item-stem"), page.locator("#save-status")
    timer = page.locator("#timer")
    for k in range(ADAPTIVE_ITEMS):
        await expect(heading).to_have_text(f"Question {k + 1}", timeout=WAIT)
        await expect(heading).to_be_focused()
        if k == 0:
            await expect(timer).to_have_text(re.compile(r"^(29|30):\d\d$"))
            await expect(timer).to_have_attribute("role", "timer")
            await expect(timer).to_have_attribute("aria-live", "off")
            await axe_check(page)
            await shot(page, "student-exam-item")
        if k == 2:  # a reload mid-exam resumes at the same item: the API's attempt is the truth
            shown = await stem.text_content()
            await page.reload()
            await expect(heading).to_have_text("Question 3", timeout=WAIT)
            await expect(stem).to_have_text(shown or "")
            await expect(heading).to_be_focused()
            await expect(status).to_have_text("")  # nothing claimed saved for this item
            await shot(page, "student-exam-resumed")
        if k == 1:  # "Answer saved" only once the API acknowledged
            await answer_held(page, k)
            continue
        await answer_with_keyboard(page, k)
        if k < ADAPTIVE_ITEMS - 1:
            await expect(status).to_have_text("Answer saved.", timeout=WAIT)

    # -- CAT stopped after 5: the result page with θ, SE and the explanation. ---------------------
    await expect(page).to_have_url(re.compile(r"/attempts/[0-9a-f-]{36}/result$"), timeout=WAIT)
    attempt_id = page.url.rstrip("/").split("/")[-2]
    await expect(page.locator("#result-body")).to_be_visible(timeout=WAIT)
    done = await platform.ok("GET", f"/api/v1/attempts/{attempt_id}", student.token)
    assert (done["status"], done["answered"], done["kind"]) == ("completed", ADAPTIVE_ITEMS, "adaptive"), done
    result = done["result"]
    await expect(page.locator("#result-status")).to_have_text("Completed.")
    assert abs(await shown_number(page, "#val-theta") - result["theta"]) <= 0.0051, result
    assert abs(await shown_number(page, "#val-se") - result["se"]) <= 0.0051, result
    assert abs(await shown_number(page, "#val-scaled") - result["scaled_score"]) <= 0.51, result
    await expect(page.locator("#val-answered")).to_have_text(str(ADAPTIVE_ITEMS))
    await expect(page.locator(".explain")).to_contain_text("θ (theta) is your ability estimate")
    await expect(page.locator(".explain")).to_contain_text("SE (standard error) is how sure we are about θ")
    await axe_check(page)
    await shot(page, "student-exam-result")
    # The explanation in Korean too (the language switch: ?lang=ko, then a cookie).
    await page.goto(platform.url("app", f"/attempts/{attempt_id}/result?lang=ko"))
    await expect(page.locator("#result-body")).to_be_visible(timeout=WAIT)
    await expect(page.locator("h1")).to_have_text("내 결과")
    await expect(page.locator(".explain")).to_contain_text("θ(세타)는 능력 추정치")
    await expect(page.locator(".explain")).to_contain_text("SE(표준오차)는 θ를 얼마나 확신할 수 있는지")
    await axe_check(page)
    await shot(page, "student-exam-result-ko")
    # Switching back is saved into the account before the page shows (mc.js applyLanguage): wait
    # for it, or the next page would follow the account's Korean (a user sees the page first too).
    await page.goto(platform.url("app", f"/attempts/{attempt_id}/result?lang=en"))
    await expect(page.locator("#result-body")).to_be_visible(timeout=WAIT)
    await expect(page.locator("h1")).to_have_text("Your result")

    # -- back on /exams the attempt is completed, with a link to its result. --------------------
    await page.goto(platform.url("app", "/exams"))
    await expect(row.locator(".exam-status")).to_have_text("Completed", timeout=WAIT)
    await expect(row.get_by_role("link", name=f"See result: {adaptive['title']}")).to_have_attribute(
        "href", f"/attempts/{attempt_id}/result")
    report = await platform.ok("GET", f"/api/v1/students/{done['student_id']}/reports", student.token)
    assert [(a["attempt_id"], a["status"]) for a in report["attempts"]] == [(attempt_id, "completed")], report

    # -- the fixed quiz (untimed): one answer, then Finish and confirm, keyboard only. ----------
    await tab_to(page, page.get_by_role("link", name=f"Start {fixed['title']}"))
    await page.keyboard.press("Enter")
    await expect(page.locator("#intro")).to_be_visible(timeout=WAIT)
    await tab_to(page, page.locator("#start-button"))
    await page.keyboard.press("Space")
    await expect(heading).to_have_text("Question 1 of 3", timeout=WAIT)
    await expect(page.locator("#timer-box")).to_be_hidden()
    await answer_with_keyboard(page, 0)
    await expect(heading).to_have_text("Question 2 of 3", timeout=WAIT)
    await expect(status).to_have_text("Answer saved.")
    await tab_to(page, page.locator("#finish-button"))
    await page.keyboard.press("Enter")
    await expect(page.locator("#finish-question")).to_be_focused()
    await expect(page.locator("#finish-question")).to_contain_text("Questions answered: 1.")
    await axe_check(page)
    await shot(page, "student-exam-finish-confirm")
    await page.keyboard.press("Tab")
    await expect(page.locator("#finish-yes")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/attempts/[0-9a-f-]{36}/result$"), timeout=WAIT)
    await expect(page.locator("#result-status")).to_have_text("Completed.", timeout=WAIT)
    await expect(page.locator("#val-answered")).to_have_text("1")
    # raw/max cover the answered items only (the API's max_score); θ counts the unanswered two as 0
    await expect(page.locator("#val-raw")).to_have_text(re.compile(r"^[01] of 1$"))
    await axe_check(page)
    await shot(page, "student-exam-result-fixed")

    # -- the clock: a 65 s quiz announces "1 minute left" once (the ticking clock is not live);
    # a 10 s quiz runs out, the server scores it `expired` and the page goes to its result. --------
    bank_id = fixed["item_bank_id"]
    for title, seconds in (("One-minute drill", 65), ("Ten-second sprint", 10)):
        quiz = await platform.ok("POST", "/api/v1/exams", school.teacher.token, 201, json={
            "title": title, "kind": "fixed", "item_bank_id": bank_id, "item_ids": fixed["item_ids"],
            "time_limit_seconds": seconds})
        await platform.ok("POST", f"/api/v1/exams/{quiz['id']}/publish", school.teacher.token)
        await page.goto(platform.url("app", f"/exams/{quiz['id']}"))
        await tab_to(page, page.locator("#start-button"))
        await page.keyboard.press("Enter")
        await expect(heading).to_be_focused(timeout=WAIT)
        if seconds == 65:
            await expect(page.locator("#mc-status")).to_have_text("1 minute left.", timeout=WAIT)
            await expect(timer).to_have_text(re.compile(r"^00:[0-5]\d$"))
            await shot(page, "student-exam-last-minute")
        else:
            await expect(page).to_have_url(re.compile(r"/attempts/[0-9a-f-]{36}/result$"), timeout=WAIT)
            await expect(page.locator("#result-status")).to_have_text(
                "The time ran out; your answers were scored.", timeout=WAIT)


async def test_student_answers_parent_link_requests(platform, browser) -> None:
    school = await platform.seed.school()
    student = school.students[0]
    parents = []
    for who in ("mom", "dad"):
        email = f"{who}.{student.email.split('@')[0]}@parents.example"
        await platform.ok("POST", "/api/v1/auth/register", status=201, json={
            "email": email, "password": PASSWORD, "display_name": who.title()})
        login = await platform.ok("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        link = await platform.ok("POST", "/api/v1/parent-links", login["access_token"], 201,
                                 json={"org_id": school.org_id, "student_email": student.email})
        assert link["status"] == "pending", link
        parents.append((email, link))

    page = await platform.page(browser)
    await sign_in(page, platform, student.email, PASSWORD)
    await page.goto(platform.url("app", "/links"))
    cards = page.locator("#pending-list > li")
    rows = page.locator("#other-rows > tr")
    await expect(cards).to_have_count(2, timeout=WAIT)
    await expect(rows).to_have_count(1)  # the roster's parent, linked by the school at provisioning
    await expect(rows.first.locator(".link-status")).to_have_text("Linked")
    await axe_check(page)
    await shot(page, "student-links")

    # Approve mom, decline dad: keyboard only. A card names the parent by account (see shown()).
    mom, dad = (shown(link) for _, link in parents)
    await tab_to(page, cards.filter(has_text=mom).locator(".link-approve"))
    await page.keyboard.press("Enter")
    await expect(page.locator("#links-status")).to_contain_text("Approved.", timeout=WAIT)
    await expect(page.locator("#pending-heading")).to_be_focused()
    await expect(cards).to_have_count(1)
    await tab_to(page, cards.filter(has_text=dad).locator(".link-reject"))
    await page.keyboard.press("Space")
    await expect(page.locator("#links-status")).to_have_text("Declined.", timeout=WAIT)
    await expect(page.locator("#pending-empty")).to_be_visible()
    await expect(rows).to_have_count(3)
    await expect(rows.filter(has_text=mom).locator(".link-status")).to_have_text("Linked")
    await expect(rows.filter(has_text=dad).locator(".link-status")).to_have_text("Declined")
    await axe_check(page)
    await shot(page, "student-links-decided")

    mine = {link["id"]: link["status"]
            for link in (await platform.ok("GET", "/api/v1/parent-links", student.token))["items"]}
    assert (mine[parents[0][1]["id"]], mine[parents[1][1]["id"]]) == ("approved", "rejected"), mine


def shown(link: dict[str, Any]) -> str:
    """How /links names a parent: LinkOut has no name or email, so the page shows the account id's
    tail (the notification that names the parent is not routed by the edge, see the report)."""
    return f"Parent account {link['parent_user_id'][-8:]}"
