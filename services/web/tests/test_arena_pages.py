"""Arena pages in a real browser, on real services behind the edge (issue #16 "Must show": an
arena match between two browser contexts).

Two students of the zone open /arena (profile made on first visit), queue for a casual match and
are paired by the real matchmaking worker; each round's question arrives over the arena
WebSocket, one student answers right and the other wrong (keyboard: type, Enter), and both see
every round's result and then the match result: one "You won!", the other "You lost.". The
leaderboard page shows the boards and my rank. axe-core on every page and state; screenshots.

Arena runs with fast settings (3 rounds, 0.2 s pairing and round gaps) and zone-shared
short-answer questions seeded by SQL as tests/integration/test_arena_edge.py does (the platform
has no inference service to embed questions made over HTTP).
"""
from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from megacity.zones import registry
from services.web.tests.conftest import Platform, axe_check, shot, sign_in

ROUNDS = 3
ARENA_OVERRIDES = {"round_count": ROUNDS, "round_gap_seconds": 0.2, "pair_interval_seconds": 0.2,
                   "fairplay_quick_loss_seconds": 0.0}
WAIT = 20_000  # ms: bounds a hang only
QUESTION = re.compile(r"^(\d+) \+ (\d+) = \?$")


async def seed_questions(platform: Platform, n: int) -> None:
    """Zone-shared short-answer questions `a + b = ?` (answer a + b)."""
    await platform.db.sql(
        "INSERT INTO arena.questions (zone_id, org_id, type, content, answer, difficulty)"
        " SELECT :z, NULL, 'short', i || ' + ' || (i + 1) || ' = ?', (2 * i + 1)::text, 2"
        " FROM generate_series(1, :n) AS i", z=registry().zone(platform.zone_key).id, n=n)


async def answer_round(page: Page, n: int, right: bool) -> None:
    await expect(page.locator("#round-line")).to_have_text(f"Round {n} of {ROUNDS}", timeout=WAIT)
    found = QUESTION.match(await page.locator("#question").inner_text())
    assert found, await page.locator("#question").inner_text()
    box = page.get_by_label("Your answer", exact=True)
    await expect(box).to_be_focused()  # each round puts the focus in the answer box
    await page.keyboard.type(str(int(found[1]) + int(found[2])) if right else "-1")
    await page.keyboard.press("Enter")
    if right:
        await expect(page.locator("#answer-line")).to_contain_text("Correct! +", timeout=WAIT)
    else:
        await expect(page.locator("#answer-line")).to_have_text("Wrong.", timeout=WAIT)


async def test_two_students_play_an_arena_match_to_the_end(platform: Platform, browser: Browser) -> None:
    await seed_questions(platform, ROUNDS + 4)
    school = await platform.seed.school(n_students=2)
    players = []
    for student in school.students:
        page = await platform.page(browser)
        await sign_in(page, platform, student.email, next_url=platform.url("app", "/arena"))
        await page.goto(platform.url("app", "/arena"))
        await expect(page.locator("#pf-rating")).to_contain_text("1500?", timeout=WAIT)
        players.append(page)
    minji, doyun = players
    await axe_check(minji)
    await shot(minji, "arena-home")

    # Both queue (casual is the default mode); the worker pairs them.
    for page in players:
        await page.get_by_role("button", name="Find an opponent").click()
    await expect(minji.locator("#match-section")).to_be_visible(timeout=WAIT)
    await expect(doyun.locator("#match-section")).to_be_visible(timeout=WAIT)
    await expect(minji.locator("#seat-rows tr")).to_have_count(2)

    for n in range(1, ROUNDS + 1):
        await answer_round(minji, n, right=True)
        await answer_round(doyun, n, right=False)
        if n == 1:
            await axe_check(doyun)
            await shot(doyun, "arena-round")

    await expect(minji.locator("#result-outcome")).to_have_text("You won!", timeout=WAIT)
    await expect(doyun.locator("#result-outcome")).to_have_text("You lost.", timeout=WAIT)
    await expect(minji.locator("#result-detail")).to_contain_text("Final score", timeout=WAIT)
    await expect(minji.locator("#pf-record")).to_have_text("1 / 0 / 0", timeout=WAIT)
    await expect(minji.locator("#history-rows tr")).to_have_count(1, timeout=WAIT)
    await axe_check(minji)
    await shot(minji, "arena-result-win")
    await axe_check(doyun)
    await shot(doyun, "arena-result-loss")

    # The leaderboard: boards and my rank (not yet ranked after one casual game).
    await minji.goto(platform.url("app", "/arena/leaderboard"))
    await expect(minji.locator("#mine-text")).to_contain_text("not on this board yet", timeout=WAIT)
    await expect(minji.locator("#top-section")).to_have_attribute("aria-busy", "false", timeout=WAIT)
    await minji.get_by_label("Board", exact=True).select_option("weekly")
    await minji.get_by_role("button", name="Show", exact=True).click()
    await expect(minji.locator("#mine-section")).to_have_attribute("aria-busy", "false", timeout=WAIT)
    await axe_check(minji)
    await shot(minji, "arena-leaderboard")
