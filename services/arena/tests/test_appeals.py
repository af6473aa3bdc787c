"""Grade appeals (real PostgreSQL, Redis): a player appeals a wrong answer once; moderators of the
player's org (or the zone) see and decide it; an overturned grade that turns a rated loss into a
win gives back the rating difference once (reason 'appeal') with `grade_update` and
`rating_change` frames; an upheld one changes nothing."""
from __future__ import annotations

import uuid

from megacity import glicko2
from services.arena.tests.conftest import ArenaApp
from services.arena.tests.test_ratings import apply, finished_match, ratings_of, sql

# a: right, right, wrong (30 points); b: right, wrong, wrong (15): a wins. b's round 2 right would
# be worth 18 points at 5 s of 20: 33 to 30, b wins.
CLOSE = [(0, "correct", 5000), (1, "correct", 5000), (0, "correct", 5000), (1, "wrong", 5000),
         (0, "wrong", 5000), (1, "wrong", 5000)]


async def test_an_overturned_grade_refunds_the_rating_difference_once(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    m = await finished_match(arena, a, b, answers=CLOSE)
    await apply(arena, m)
    lost = (await ratings_of(arena, b.user_id))[""]
    path = f"/api/v1/arena/matches/{m}/rounds/2/appeal"
    made = await arena.ok("POST", path, b, 201, json={"reason": "my answer means the same"})
    assert made["status"] == "open" and (made["round"], made["seat"]) == (2, 1)
    await arena.fails("POST", path, b, 409, "arena.appeal_exists", json={"reason": "again"})
    await arena.fails("POST", f"/api/v1/arena/matches/{m}/rounds/1/appeal", a, 409, "arena.not_appealable",
                      json={"reason": "x"})
    await arena.fails("POST", f"/api/v1/arena/matches/{uuid.uuid4()}/rounds/1/appeal", b, 404, "arena.not_found",
                      json={"reason": "x"})
    assert [x["id"] for x in (await arena.ok("GET", "/api/v1/arena/appeals", b))["items"]] == [made["id"]]
    assert (await arena.ok("GET", "/api/v1/arena/appeals", a))["items"] == []
    decide = f"/api/v1/arena/appeals/{made['id']}/decide"
    await arena.fails("POST", decide, arena.actor("org_admin", arena.org_a), 404, "arena.appeal_not_found",
                      json={"decision": "overturned"})
    await arena.fails("POST", decide, b, 403, "auth.permission_denied", json={"decision": "overturned"})
    moderator = arena.actor("org_admin", arena.org_b)
    assert len((await arena.ok("GET", "/api/v1/arena/appeals", moderator, params={"status": "open"}))["items"]) == 1
    async with arena.socket(b) as live:
        await live.until("snapshot")
        out = await arena.ok("POST", decide, moderator, json={"decision": "overturned", "verdict": "correct",
                                                               "feedback": "an accepted form"})
        graded = await live.until("grade_update")
        refund = await live.until("rating_change", reason="appeal")
    assert out["appeal"]["status"] == "overturned" and out["verdict"] == "correct" and len(out["refunds"]) == 1
    assert graded["data"]["verdict"] == "correct" and refund["data"]["after"] > refund["data"]["before"]
    start = glicko2.Rating()
    gain = glicko2.after_match(start, start, 1.0).rating - glicko2.after_match(start, start, 0.0).rating
    now = (await ratings_of(arena, b.user_id))[""]
    assert abs(now.rating - (lost.rating + gain)) < 1e-6 and now.games == lost.games
    answer = (await sql(arena, "SELECT verdict, grader FROM arena.round_answers WHERE match_id = :m AND round_no = 2"
                               " AND seat = 1", m=m))[0]
    assert (answer.verdict, answer.grader) == ("correct", "appeal")
    assert (await sql(arena, "SELECT score FROM arena.match_players WHERE match_id = :m AND seat = 1", m=m))[0][0] == 33
    await arena.fails("POST", decide, moderator, 409, "arena.appeal_decided", json={"decision": "upheld"})


async def test_an_upheld_grade_changes_nothing(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor()
    m = await finished_match(arena, a, b, answers=CLOSE)
    await apply(arena, m)
    before = (await ratings_of(arena, b.user_id))[""].rating
    made = await arena.ok("POST", f"/api/v1/arena/matches/{m}/rounds/3/appeal", b, 201, json={"reason": "hmm"})
    out = await arena.ok("POST", f"/api/v1/arena/appeals/{made['id']}/decide", arena.actor("zone_admin"),
                         json={"decision": "upheld", "feedback": "the question asks for the unit"})
    assert (out["appeal"]["status"], out["verdict"], out["refunds"]) == ("upheld", None, [])
    assert (await ratings_of(arena, b.user_id))[""].rating == before


async def test_an_overturn_waits_for_the_match_s_ratings(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    m = await finished_match(arena, a, b, answers=CLOSE)  # its ratings not applied yet
    made = await arena.ok("POST", f"/api/v1/arena/matches/{m}/rounds/2/appeal", b, 201, json={"reason": "same"})
    decide, admin = f"/api/v1/arena/appeals/{made['id']}/decide", arena.actor("zone_admin")
    overturn = {"decision": "overturned", "verdict": "correct"}
    await arena.fails("POST", decide, admin, 409, "arena.ratings_pending", json=overturn)
    answer = await sql(arena, "SELECT verdict FROM arena.round_answers WHERE match_id = :m AND round_no = 2"
                              " AND seat = 1", m=m)
    assert answer[0].verdict == "wrong"  # nothing half-written
    await apply(arena, m)
    lost = (await ratings_of(arena, b.user_id))[""].rating
    out = await arena.ok("POST", decide, admin, json=overturn)
    assert len(out["refunds"]) == 1 and (await ratings_of(arena, b.user_id))[""].rating > lost
