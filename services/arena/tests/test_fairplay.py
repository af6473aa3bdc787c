"""Fair play (real PostgreSQL and Redis): a provisional account's quick win over a related one is
left unrated; repeated quick losses to one opponent warn at 3 and flag at 4 of 7 (both accounts);
answers faster than anyone reads are flagged; marking a cheater refunds its opponents once and
takes it off the boards; who sees which flags."""
from __future__ import annotations

from services.arena.tests.conftest import ZONE, ArenaApp
from services.arena.tests.test_ratings import apply, finished_match, ratings_of, sql

QUICK = [(s, v, ms) for _ in range(3) for s, v, ms in ((0, "correct", 2500), (1, "wrong", 900))]


async def test_a_provisional_quick_win_over_a_related_account_is_unrated(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor()  # one school
    m = await finished_match(arena, a, b, answers=QUICK)
    await apply(arena, m)
    row = (await sql(arena, "SELECT rated, unrated_reason FROM arena.matches WHERE id = :m", m=m))[0]
    assert (row.rated, row.unrated_reason) == (False, "related_provisional")
    assert await ratings_of(arena, a.user_id) == {}
    review = await sql(arena, "SELECT user_id, level FROM arena.fairplay_flags WHERE kind = 'related_win'")
    assert [(r.user_id, r.level) for r in review] == [(a.user_id, "warn")]
    # same quick win between schools but from one address (a second account at home): unrated too
    c, d = arena.actor(), arena.actor(org=arena.org_b)
    m2 = await finished_match(arena, c, d, answers=QUICK, addresses=("10.0.0.7", "10.0.0.7"))
    await apply(arena, m2)
    assert (await sql(arena, "SELECT unrated_reason FROM arena.matches WHERE id = :m", m=m2))[0][0] == \
        "related_provisional"
    # unrelated accounts: rated
    e, f = arena.actor(), arena.actor(org=arena.org_b)
    await apply(arena, await finished_match(arena, e, f, answers=QUICK, addresses=("10.0.0.8", "10.0.0.9")))
    assert set(await ratings_of(arena, e.user_id)) == {""}


async def test_quick_losses_to_one_opponent_warn_at_three_and_flag_at_four(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    for n in range(4):
        await apply(arena, await finished_match(arena, a, b, answers=QUICK))
        flags = await sql(arena, "SELECT user_id, kind, level FROM arena.fairplay_flags WHERE kind IN"
                                 " ('sandbagging', 'boosting') ORDER BY level DESC, kind")
        got = {(f.user_id, f.kind, f.level) for f in flags}
        if n < 2:
            assert got == set()
        elif n == 2:
            assert got == {(b.user_id, "sandbagging", "warn"), (a.user_id, "boosting", "warn")}
        else:
            assert {(b.user_id, "sandbagging", "flag"), (a.user_id, "boosting", "flag")} <= got and len(got) == 4
    zone_admin = arena.actor("zone_admin")
    seen = (await arena.ok("GET", "/api/v1/arena/fairplay/flags", zone_admin))["items"]
    assert len(seen) == 4 and all(f["details"]["quick_losses"] >= 3 for f in seen)
    org_b_admin = arena.actor("org_admin", arena.org_b)
    theirs = (await arena.ok("GET", "/api/v1/arena/fairplay/flags", org_b_admin, params={"status": "open"}))["items"]
    assert {(f["user_id"], f["kind"]) for f in theirs} == {(str(b.user_id), "sandbagging")}
    await arena.fails("GET", "/api/v1/arena/fairplay/flags", arena.actor(), 403, "auth.permission_denied")
    flag = next(f["id"] for f in theirs if f["level"] == "flag")
    await arena.fails("POST", f"/api/v1/arena/fairplay/flags/{flag}/review", arena.actor("org_admin", arena.org_a),
                      404, "arena.flag_not_found", json={"status": "dismissed"})
    done = await arena.ok("POST", f"/api/v1/arena/fairplay/flags/{flag}/review", org_b_admin,
                          json={"status": "dismissed"})
    assert (done["status"], done["reviewed_by"]) == ("dismissed", str(org_b_admin.user_id))
    still = (await arena.ok("GET", "/api/v1/arena/fairplay/flags", org_b_admin, params={"status": "open"}))["items"]
    assert [f["level"] for f in still] == ["warn"]


async def test_answers_faster_than_reading_are_flagged(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    answers = [(0, "correct", 120), (1, "wrong", 7000), (0, "correct", 150), (1, "wrong", 8000),
               (0, "correct", 9000), (1, "correct", 6000)]
    await apply(arena, await finished_match(arena, a, b, answers=answers, rated=False, mode="casual"))
    flags = await sql(arena, "SELECT user_id, level, details FROM arena.fairplay_flags WHERE kind = 'timing'")
    assert [(f.user_id, f.level, f.details["fast_correct_rounds"]) for f in flags] == [(a.user_id, "flag", [1, 2])]


async def test_marking_a_cheater_refunds_its_opponents_once(arena: ArenaApp) -> None:
    cheat, victim = arena.actor(), arena.actor(org=arena.org_b)
    for _ in range(2):
        await apply(arena, await finished_match(arena, cheat, victim))
    lost = await sql(arena, "SELECT sum(rating_before - rating_after) FROM arena.rating_changes WHERE user_id = :u"
                            " AND topic = ''", u=victim.user_id)
    before = (await ratings_of(arena, victim.user_id))[""].rating
    await arena.fails("POST", f"/api/v1/arena/fairplay/players/{cheat.user_id}/mark",
                      arena.actor("org_admin", arena.org_b), 404, "arena.player_not_found", json={})
    admin = arena.actor("org_admin", arena.org_a)
    async with arena.socket(victim) as live:
        await live.until("snapshot")
        out = await arena.ok("POST", f"/api/v1/arena/fairplay/players/{cheat.user_id}/mark", admin,
                             json={"note": "second account"})
        frame = await live.until("rating_change", reason="refund")
    assert out["newly_marked"] and len(out["refunds"]) == 2 and frame["data"]["after"] > frame["data"]["before"]
    after = (await ratings_of(arena, victim.user_id))[""].rating
    assert abs(after - (before + lost[0][0])) < 1e-6
    again = await arena.ok("POST", f"/api/v1/arena/fairplay/players/{cheat.user_id}/mark", admin, json={})
    assert (again["newly_marked"], again["refunds"]) == (False, [])
    assert abs((await ratings_of(arena, victim.user_id))[""].rating - after) < 1e-9
    # a cheater's next match is never rated
    m = await finished_match(arena, cheat, victim)
    await apply(arena, m)
    assert (await sql(arena, "SELECT unrated_reason FROM arena.matches WHERE id = :m", m=m))[0][0] == "cheater"
    weekly = await arena.ok("GET", "/api/v1/arena/leaderboards/weekly", victim, params={"limit": 100})
    assert str(cheat.user_id) not in {x["user_id"] for x in weekly["items"]}  # its XP puts it back on no board
    assert (await sql(arena, "SELECT xp FROM arena.league_members WHERE user_id = :u", u=cheat.user_id))[0].xp > 0
    assert (await sql(arena, "SELECT count(*) FROM arena.players WHERE zone_id = :z AND cheater", z=ZONE))[0][0] == 1
