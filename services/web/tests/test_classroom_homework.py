"""Classroom homework and the session report in a real browser, on real services behind the edge.

A teacher's session showed two cards and ended (set up through the API). In the console (reached
from "Earlier sessions" on /teach/classroom) the teacher opens it as homework: code, link and QR.
An absent student opens the link in another browser context and does the homework with the
keyboard only (one card right, one wrong, the right answer shown after each); a duplicated tab of
the same seat that answers a card again shows that card's real result; a reload returns to the
same seat. The teacher's report then shows the student's answers (per card accuracy with the
wrong answer as a misconception, per participant correctness), and the CSV and xlsx downloads
hold them. Closing the homework turns the student's page into a clear "closed" notice.
axe-core on every state; screenshots of each step.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from playwright.async_api import Browser, expect

from services.web.tests.conftest import WAIT_MS, Platform, axe_check, shot, sign_in


async def test_teacher_opens_homework_a_student_does_it_by_keyboard_and_the_report_shows_it(
        platform: Platform, browser: Browser) -> None:
    school = await platform.seed.school(n_students=1)
    tok = school.teacher.token
    s = await platform.ok("POST", "/api/v1/classroom/sessions", tok, 201,
                          json={"class_id": school.class_id, "title": "Fractions warm-up"})
    problems: list[dict[str, Any]] = [
        {"type": "math", "prompt": "1/2 + 1/4 = ?", "answer": "3/4", "explanation": "1/2 = 2/4, and 2/4 + 1/4 = 3/4."},
        {"type": "math", "prompt": "Which fraction is the largest?", "answer": "3/4", "choices": ["1/2", "2/6", "3/4"]},
    ]
    for body in problems:
        p = await platform.ok("POST", "/api/v1/classroom/problems", tok, 201,
                              json={"class_id": school.class_id, "grade": 5, "difficulty": 2, **body})
        await platform.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/cards", tok, 201, json={"problem_id": p["id"]})
        await platform.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/cards/current/close", tok)
    await platform.ok("POST", f"/api/v1/classroom/sessions/{s['id']}/end", tok)

    # --- the teacher finds the ended session and opens it as homework --------------------------
    teacher = await platform.page(browser)
    await sign_in(teacher, platform, school.teacher.email, next_url=platform.url("app", "/teach/classroom"))
    await teacher.goto(platform.url("app", "/teach/classroom"))
    past = teacher.get_by_role("link", name=f"{s['code']}: Fractions warm-up")
    await expect(past).to_be_visible(timeout=WAIT_MS)
    await axe_check(teacher)
    await past.click()
    # Linked by id: a live code is unique only among active sessions.
    await teacher.wait_for_url(platform.url("app", f"/teach/classroom/{s['code']}?session={s['id']}"), timeout=WAIT_MS)
    await expect(teacher.locator("#ended-section")).to_be_visible(timeout=WAIT_MS)
    await expect(teacher.locator("#homework-status")).to_have_text("Homework is not open.", timeout=WAIT_MS)
    await expect(teacher.locator("#report-summary")).to_contain_text("2 cards · 0 answers", timeout=WAIT_MS)
    await teacher.get_by_label("Open for (days, 1–30)", exact=True).fill("3")
    await teacher.get_by_role("button", name="Open homework").click()
    code_box = teacher.locator("#homework-code")
    await expect(code_box).to_have_text(re.compile(r"^[2-9A-HJKMNP-Z]{8}$"), timeout=WAIT_MS)
    hw_code = await code_box.inner_text()
    link = platform.url("app", f"/homework/{hw_code}")
    await expect(teacher.locator("#homework-link")).to_have_attribute("href", link)
    await expect(teacher.locator("#homework-status")).to_contain_text(f"code {hw_code}")
    await expect(teacher.get_by_role("button", name="Change the end date")).to_be_visible()
    qr = teacher.locator("#homework-qr")
    await expect(qr).to_have_attribute("src", f"/homework/{hw_code}/qr.svg")
    assert await qr.evaluate("img => img.decode().then(() => img.naturalWidth > 0)")
    await axe_check(teacher)
    await shot(teacher, "classroom-homework-teacher-open")
    # The console opened again later shows the open homework's code at once: the session answer
    # (SessionOut) names it, so "Open homework" need not be pressed again to see it.
    await teacher.reload()
    await expect(code_box).to_have_text(hw_code, timeout=WAIT_MS)
    await expect(teacher.locator("#homework-link")).to_have_attribute("href", link)
    await expect(teacher.locator("#homework-status")).to_contain_text("Homework is open until")
    await expect(teacher.locator("#homework-status")).not_to_contain_text("Open it again")
    await expect(teacher.locator("#report-summary")).to_contain_text("2 cards · 0 answers", timeout=WAIT_MS)

    # --- an absent student does the homework with the keyboard only ----------------------------
    student = await platform.page(browser)
    await student.goto(link)
    nickname = student.get_by_label("Nickname", exact=True)
    await expect(nickname).to_be_focused(timeout=WAIT_MS)
    await expect(student.locator("#hw-info")).to_contain_text("2 cards.")
    await axe_check(student)
    await student.keyboard.type("Jiwoo")
    await student.keyboard.press("Enter")
    await expect(student.locator(".card-prompt")).to_have_text("1/2 + 1/4 = ?", timeout=WAIT_MS)
    await expect(student.get_by_label("Your answer", exact=True)).to_be_focused()
    await expect(student.locator("#progress-text")).to_have_text("0 of 2 answered")
    # A duplicated tab: the same seat (sessionStorage is copied), on the same first card.
    seat_key = f"mc.homework.{hw_code}"
    seat = await student.evaluate("key => sessionStorage.getItem(key)", seat_key)
    assert seat and json.loads(seat)["token"], seat
    twin = await platform.page(browser)
    await twin.add_init_script(
        f"try {{ sessionStorage.setItem({json.dumps(seat_key)}, {json.dumps(seat)}); }} catch (e) {{}}")
    await twin.goto(link)
    await expect(twin.locator(".card-prompt")).to_have_text("1/2 + 1/4 = ?", timeout=WAIT_MS)
    await student.bring_to_front()
    await student.keyboard.type("3/4")
    await student.keyboard.press("Enter")
    result = student.locator(".card-result")
    await expect(result).to_contain_text("Correct!", timeout=WAIT_MS)
    await expect(result).to_contain_text("Answer: 3/4")
    await expect(result).to_contain_text("1/2 = 2/4, and 2/4 + 1/4 = 3/4.")
    await expect(student.get_by_role("button", name="Next card")).to_be_focused()
    await axe_check(student)
    await shot(student, "classroom-homework-student-feedback")
    # The twin tab answers the same card (wrongly): refused as answered, and it shows the card's
    # real result (correct, from the server), never a "wrong" guess.
    await twin.get_by_label("Your answer", exact=True).fill("1/4")
    await twin.get_by_label("Your answer", exact=True).press("Enter")
    twin_result = twin.locator(".card-result")
    await expect(twin_result).to_contain_text("You had already answered this card.", timeout=WAIT_MS)
    await expect(twin_result).to_contain_text("Correct!")
    await expect(twin_result).not_to_contain_text("Not quite.")
    await expect(twin.get_by_role("button", name="Next card")).to_be_focused()
    await expect(twin.locator("#progress-text")).to_have_text("1 of 2 answered")
    await axe_check(twin)
    await shot(twin, "classroom-homework-student-twin-tab")
    await twin.context.close()
    await student.keyboard.press("Enter")
    await expect(student.locator(".card-prompt")).to_have_text("Which fraction is the largest?", timeout=WAIT_MS)
    await expect(student.get_by_label("A. 1/2", exact=True)).to_be_focused()
    await student.keyboard.press("ArrowDown")  # moves to and picks B. 2/6
    await expect(student.get_by_label("B. 2/6", exact=True)).to_be_checked()
    await student.keyboard.press("Tab")
    await expect(student.get_by_role("button", name="Check my answer")).to_be_focused()
    await student.keyboard.press("Enter")
    await expect(result).to_contain_text("Not quite.", timeout=WAIT_MS)
    await expect(result).to_contain_text("Answer: 3/4")
    await expect(student.get_by_role("button", name="See my results")).to_be_focused()
    await student.keyboard.press("Enter")
    await expect(student.locator("#done-text")).to_have_text("You answered all 2 cards: 1 correct.", timeout=WAIT_MS)
    await expect(student.locator("#done-rows tr")).to_have_count(2)
    await axe_check(student)
    await shot(student, "classroom-homework-student-done")
    # A reload comes back to the same seat (the token is kept per code in sessionStorage).
    await student.reload()
    await expect(student.locator("#done-text")).to_have_text("You answered all 2 cards: 1 correct.", timeout=WAIT_MS)
    await expect(student.locator("#done-rows")).to_contain_text("Correct")

    # --- the teacher's report shows the answers -------------------------------------------------
    await teacher.get_by_role("button", name="Refresh the report").click()
    row = teacher.locator("#report-people tr", has_text="Jiwoo")
    await expect(row).to_be_visible(timeout=WAIT_MS)
    await expect(row.locator("td").nth(0)).to_have_text("Homework")
    await expect(row.locator("td").nth(3)).to_have_text("1")  # correct
    await expect(row.locator("td[data-result]")).to_have_count(2)
    await expect(row.locator("td").nth(4)).to_have_attribute("data-result", "correct")
    await expect(row.locator("td").nth(5)).to_have_attribute("data-result", "wrong")
    card2 = teacher.locator("#report-cards tr").nth(1)
    await expect(card2).to_contain_text("Which fraction is the largest?")
    await expect(card2.locator("td").nth(5)).to_contain_text("(1)")  # the wrong answer, as the checker groups it
    await expect(card2).to_contain_text("0 %")
    await expect(teacher.locator("#report-summary")).to_contain_text("1 as homework")
    await axe_check(teacher)
    await shot(teacher, "classroom-homework-teacher-report")

    # The downloads: bearer-authenticated, handed to the browser as files.
    async with teacher.expect_download() as got:
        await teacher.get_by_role("button", name="Download CSV").click()
    download = await got.value
    assert re.fullmatch(f"classroom-{s['code']}-\\d{{8}}\\.csv", download.suggested_filename), download.suggested_filename
    raw = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert raw.startswith("\ufeff".encode())  # the server's bytes as they are (api()'s raw Response)
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    jiwoo = next(r for r in rows if r and r[0] == "Jiwoo")
    assert "homework" in jiwoo, rows
    await expect(teacher.locator("#report-status")).to_contain_text("downloaded", timeout=WAIT_MS)
    async with teacher.expect_download() as got:
        await teacher.get_by_role("button", name="Download Excel (.xlsx)").click()
    download = await got.value
    assert download.suggested_filename.endswith(".xlsx")
    # The edge lets the page read the server's file name of a cross-origin answer (CORS exposed).
    disposition = await teacher.evaluate(
        """async ([url, token]) => (await fetch(url, { headers: { Authorization: `Bearer ${token}` } }))
             .headers.get("content-disposition")""",
        [platform.url("api", f"/api/v1/classroom/sessions/{s['id']}/report.xlsx"), tok])
    assert disposition == f'attachment; filename="{download.suggested_filename}"', disposition
    book = load_workbook(io.BytesIO(await asyncio.to_thread(Path(await download.path()).read_bytes)), read_only=True)
    cells = [c for ws in book.worksheets for r in ws.iter_rows(values_only=True) for c in r]
    assert "Jiwoo" in cells, cells[:40]

    # --- closing the homework: the student's page says so ---------------------------------------
    teacher.once("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="Close homework").click()
    await expect(teacher.locator("#homework-status")).to_have_text("Homework closed: its code no longer works.",
                                                                  timeout=WAIT_MS)
    await expect(teacher.locator("#homework-open")).to_be_hidden()
    await student.reload()
    await expect(student.locator("#closed-section")).to_be_visible(timeout=WAIT_MS)
    await expect(student.locator("#closed-text")).to_have_text(
        "Your teacher has closed this homework, or its time is up.")
    await axe_check(student)
    await shot(student, "classroom-homework-student-closed")
    # Closing wiped the code: a fresh visitor (here on the Korean page) is told no homework has it,
    # next to the code form.
    other = await platform.page(browser, lang="ko")
    await other.goto(link)
    await expect(other.locator("#find-section")).to_be_visible(timeout=WAIT_MS)
    await expect(other.locator("#hw-error")).to_contain_text("classroom.homework_not_found")
    await expect(other.locator("#hw-error")).to_contain_text("이 코드의 숙제가 없습니다. 선생님께 코드를 확인하세요.")
    await axe_check(other)
