"""Live classroom pages in a real browser, on real services behind the edge (issue #16 "Must
show": a student joins a classroom by code and chats).

A teacher starts a session on /teach/classroom and lands on its console (code, QR, live
participants). A signed-in student types the code on /join (lower case, with a dash: the code is
forgiving) and an anonymous second student opens /join/<CODE> directly (the QR's target) with the pages in
Korean, each in its own browser context. Chat goes both ways over the classroom WebSocket; the teacher hides a
message and it disappears on the students' screens; the teacher writes a problem card, a student
answers it with the keyboard, the tally counts it and closing the card reveals the answer.
axe-core on every page (and on the live states); screenshots of each step.
"""
from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from services.web.tests.conftest import Platform, axe_check, shot, sign_in

WAIT = 20_000  # ms: bounds a hang only


async def test_teacher_runs_a_live_class_students_join_by_code_and_chat(platform: Platform, browser: Browser) -> None:
    school = await platform.seed.school(n_students=2)

    # --- the teacher starts a session --------------------------------------------------------
    teacher = await platform.page(browser)
    await sign_in(teacher, platform, school.teacher.email, next_url=platform.url("app", "/teach/classroom"))
    await teacher.goto(platform.url("app", "/teach/classroom"))
    await expect(teacher.locator("#class-select option")).to_have_count(1, timeout=WAIT)
    await expect(teacher.locator("#active-empty")).to_be_visible()
    await axe_check(teacher)
    await shot(teacher, "classroom-teacher-start")
    await teacher.get_by_label("Title (optional)", exact=True).fill("Fractions warm-up")
    await teacher.get_by_role("button", name="Start the session").click()
    await teacher.wait_for_url(re.compile(r"/teach/classroom/[2-9A-HJKMNP-Z]{8}$"), timeout=WAIT)
    code = teacher.url.rsplit("/", 1)[1]
    await expect(teacher.locator("#session-code")).to_have_text(code)
    await expect(teacher.locator("#conn-status")).to_have_text("Live.", timeout=WAIT)
    # The QR on screen is an SVG of the join URL, served by web.
    await expect(teacher.locator("#qr")).to_have_attribute("src", f"/teach/classroom/{code}/qr.svg")
    assert await teacher.locator("#qr").evaluate("img => img.decode().then(() => img.naturalWidth > 0)")
    await expect(teacher.locator("#join-url")).to_have_text(platform.url("app", f"/join/{code}"))
    await axe_check(teacher)
    await shot(teacher, "classroom-teacher-console")

    # --- a signed-in student types the code (forgiving case and dashes) ----------------------
    minji = await platform.page(browser)
    await sign_in(minji, platform, school.students[0].email)
    await minji.goto(platform.url("app", "/join"))
    await axe_check(minji)
    await minji.get_by_label("Class code", exact=True).fill(f"{code[:4].lower()}-{code[4:].lower()}")
    await minji.get_by_label("Class code", exact=True).press("Enter")
    await minji.wait_for_url(platform.url("app", f"/join/{code}"), timeout=WAIT)
    await expect(minji.locator("#session-title")).to_have_text("Fractions warm-up", timeout=WAIT)
    await axe_check(minji)
    await shot(minji, "classroom-student-join")
    await minji.get_by_label("Nickname", exact=True).fill("Minji")
    await minji.get_by_label("Nickname", exact=True).press("Enter")
    await expect(minji.locator("#conn-status")).to_have_text("Connected.", timeout=WAIT)
    await expect(minji.locator("#me-line")).to_contain_text("Minji")

    # --- an anonymous student opens the QR's URL ---------------------------------------------
    doyun = await platform.page(browser, lang="ko")  # this one reads the pages in Korean
    await doyun.goto(platform.url("app", f"/join/{code}"))
    await expect(doyun.locator("#session-title")).to_have_text("Fractions warm-up", timeout=WAIT)
    await doyun.get_by_label("닉네임", exact=True).fill("Doyun")
    await doyun.get_by_label("아바타", exact=True).select_option("owl")
    await doyun.get_by_role("button", name="수업에 참여").click()
    await expect(doyun.locator("#conn-status")).to_have_text("연결되었습니다.", timeout=WAIT)
    await axe_check(doyun)

    # The teacher's console lists both, live.
    people = teacher.locator("#people-rows")
    await expect(people.locator("th")).to_have_text(["Minji", "Doyun"], timeout=WAIT)
    await expect(teacher.locator("#people-count")).to_have_text("2")

    # --- chat both ways ----------------------------------------------------------------------
    await minji.get_by_label("Message", exact=True).fill("Hello, teacher!")
    await minji.get_by_label("Message", exact=True).press("Enter")
    await expect(teacher.locator("#chat-log .chat-msg", has_text="Hello, teacher!")).to_contain_text("Minji:",
                                                                                                  timeout=WAIT)
    await expect(doyun.locator("#chat-log")).to_contain_text("Hello, teacher!", timeout=WAIT)
    await teacher.get_by_label("Message to the class", exact=True).fill("Welcome, everyone!")
    await teacher.get_by_label("Message to the class", exact=True).press("Enter")
    for student, teacher_label in ((minji, "Teacher:"), (doyun, "선생님:")):
        await expect(student.locator("#chat-log .chat-msg", has_text="Welcome, everyone!")).to_contain_text(
            teacher_label, timeout=WAIT)
    await axe_check(minji)
    await shot(minji, "classroom-student-chat")

    # Moderation: the teacher hides Doyun's message; it disappears for the students.
    await doyun.get_by_label("메시지", exact=True).fill("I like turtles")
    await doyun.get_by_label("메시지", exact=True).press("Enter")
    await expect(minji.locator("#chat-log")).to_contain_text("I like turtles", timeout=WAIT)
    await teacher.get_by_role("button", name="Hide the message from Doyun").click()
    await expect(minji.locator("#chat-log")).not_to_contain_text("I like turtles", timeout=WAIT)
    await expect(doyun.locator("#chat-log")).not_to_contain_text("I like turtles", timeout=WAIT)
    await expect(teacher.locator("#chat-log .chat-msg", has_text="I like turtles")).to_contain_text("(hidden)")

    # --- a problem card: shown, answered with the keyboard, tallied, closed ------------------
    await teacher.locator("#new-problem-form").evaluate("f => f.closest('details').open = true")
    await teacher.get_by_label("Question", exact=True).fill("1/2 + 1/4 = ?")
    await teacher.get_by_label("Answer (several accepted answers: separate with |)", exact=True).fill("3/4")
    await teacher.get_by_role("button", name="Save and show").click()
    await expect(teacher.locator("#card-now .card-prompt")).to_have_text("1/2 + 1/4 = ?", timeout=WAIT)
    await expect(minji.locator("#card-area .card-prompt")).to_have_text("1/2 + 1/4 = ?", timeout=WAIT)
    answer = minji.get_by_label("Your answer", exact=True)
    await expect(answer).to_be_focused()  # the new card takes the focus: type and press Enter
    await minji.keyboard.type("0.75")
    await minji.keyboard.press("Enter")
    await expect(minji.locator("#card-area .card-result")).to_contain_text("Correct!", timeout=WAIT)
    await expect(teacher.locator("#tally .tally-summary")).to_have_text("1 answered, 1 correct", timeout=WAIT)
    await axe_check(minji)
    await shot(minji, "classroom-student-card")
    await axe_check(teacher)
    await shot(teacher, "classroom-teacher-card")
    await teacher.get_by_role("button", name="Close the card").click()
    await expect(minji.locator("#card-area .card-answer")).to_have_text("Answer: 3/4", timeout=WAIT)
    await expect(doyun.locator("#card-area .card-answer")).to_have_text("정답: 3/4", timeout=WAIT)
    await expect(minji.locator("#board")).to_contain_text("Minji", timeout=WAIT)

    # --- the teacher ends the session: everyone sees it is over ------------------------------
    teacher.once("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End the session").click()
    await expect(teacher.locator("#ended-section")).to_be_visible(timeout=WAIT)
    for student in (minji, doyun):
        await expect(student.locator("#ended-section")).to_be_visible(timeout=WAIT)
    await axe_check(doyun)
    await shot(doyun, "classroom-student-ended")
