"""Free-text answers: stored `pending` without waiting for the model, graded after the commit
(the grader's reply is fixed here: inference's LLM is exercised by grading's own tests), the
points added to the seat and `grade_update` pushed; a grader that is down leaves the answer
pending for a later pass."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from megacity.testing import TestDatabase, TokenMint
from services.arena.grading import llm
from services.arena.grading.service import Verdict
from services.arena.matches import service
from services.arena.matches.service import Seat
from services.arena.tests.conftest import ZONE, ArenaApp, arena_service
from services.arena.tests.test_matches import FAST, got, live, sql


@pytest.fixture
async def fast(test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> AsyncIterator[ArenaApp]:
    async with arena_service(test_db, namespace, token_mint, **{**FAST, "round_count": 1}) as app:
        yield app


async def _free_question(app: ArenaApp) -> None:
    await sql(app, "INSERT INTO arena.questions (zone_id, type, content, rubric) VALUES (:z, 'free',"
                   " 'Why is the sky blue?', 'mentions scattering of short wavelengths')", z=ZONE)


async def _play(app: ArenaApp, graded: bool) -> tuple[Any, Any, Any]:
    a, b = app.actor(), app.actor()
    async with live(app, a) as ca, live(app, b) as cb:
        m = await service.create_match(app.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
        await got(ca, "round_start", round=1)
        for c, text in ((ca, "Rayleigh scattering of blue light"), (cb, "because it reflects the sea")):
            await c.send("answer", {"match_id": str(m.id), "round": 1, "answer": text})
            assert (await got(c, "answer_ack"))["data"]["verdict"] == "pending"
        result = await got(ca, "round_result", round=1)
        assert {x["verdict"] for x in result["data"]["answers"]} == {"pending"}
        end = await got(ca, "match_result")
        assert end["data"]["outcomes"] == {"0": "draw", "1": "draw"}  # decided from the points known then
        updates = [await got(c, "grade_update", timeout=5) for c in (ca, cb)] if graded else []
    return m, updates, (a, b)


async def test_free_text_is_graded_after_the_round(fast: ArenaApp, monkeypatch: pytest.MonkeyPatch) -> None:
    async def grader(res: Any, question: Any, answer: str, examples: Any = ()) -> Verdict:
        return Verdict("correct", 1.0, "llm", ["scattering"], "Right.") if "scattering" in answer \
            else Verdict("wrong", 0.0, "llm", [], "Think about light.")

    monkeypatch.setattr(llm, "grade_free_text", grader)
    await _free_question(fast)
    m, updates, (a, b) = await _play(fast, graded=True)
    assert [u["data"]["verdict"] for u in updates] == ["correct", "wrong"]
    assert updates[0]["data"]["points"] > 0 and updates[1]["data"]["feedback"] == "Think about light."
    rows = await sql(fast, "SELECT seat, verdict, grader, points FROM arena.round_answers WHERE match_id = :m ORDER BY seat",
                     m=m.id)
    assert [(r.verdict, r.grader) for r in rows] == [("correct", "llm"), ("wrong", "llm")]
    seats = await sql(fast, "SELECT score, correct FROM arena.match_players WHERE match_id = :m ORDER BY seat", m=m.id)
    assert seats[0].score == rows[0].points and seats[0].correct == 1 and seats[1].score == 0
    noted = await sql(fast, "SELECT user_id, ai_feedback FROM arena.notebook WHERE user_id = :u", u=b.user_id)
    assert len(noted) == 1


async def test_a_grader_that_is_down_leaves_the_answer_pending(fast: ArenaApp) -> None:
    await _free_question(fast)  # the fixture's inference peer is a dead port
    m, _, _ = await _play(fast, graded=False)
    rows = await sql(fast, "SELECT verdict FROM arena.round_answers WHERE match_id = :m", m=m.id)
    assert {r.verdict for r in rows} == {"pending"}
    key = fast.res.keys.zone(ZONE, "arena", "grading", m.id, 1, 0)
    for _ in range(50):  # the grader's call fails (dead port): the claim is shortened for a retry
        if 0 < await fast.res.redis.ttl(key) <= 60:
            break
        await asyncio.sleep(0.1)
    assert 0 < await fast.res.redis.ttl(key) <= 60


async def test_an_answer_graded_before_its_round_closes_counts_once(fast: ArenaApp,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async def grader(res: Any, question: Any, answer: str, examples: Any = ()) -> Verdict:
        return Verdict("correct", 1.0, "llm", ["scattering"], "Right.")

    monkeypatch.setattr(llm, "grade_free_text", grader)
    await _free_question(fast)
    a, b = fast.actor(), fast.actor()
    async with live(fast, a) as ca, live(fast, b) as cb:
        m = await service.create_match(fast.res, ZONE, "casual", "", [Seat(a.user_id, a.org_id), Seat(b.user_id, b.org_id)])
        await got(ca, "round_start", round=1)
        await ca.send("answer", {"match_id": str(m.id), "round": 1, "answer": "Rayleigh scattering"})
        graded = await got(ca, "grade_update", timeout=5)  # the round is still open: b has not answered
        await cb.send("answer", {"match_id": str(m.id), "round": 1, "answer": "no idea"})
        result = await got(ca, "round_result", round=1)
        await got(ca, "match_result")
    assert result["data"]["seats"][0]["score"] == graded["data"]["points"] > 0
    seats = await sql(fast, "SELECT score, correct FROM arena.match_players WHERE match_id = :m ORDER BY seat", m=m.id)
    assert (seats[0].score, seats[0].correct) == (graded["data"]["points"], 1)
