"""The wrong-answer notebook: bookmarks, wrong answers recorded by the match engine's call,
answers revealed only once played, practice picks, personal rows (RLS)."""
from __future__ import annotations

import uuid

from sqlalchemy import text

from megacity.db import TenantContext, tenant_transaction
from services.arena.notebook import service

BASE = "/api/v1/arena/notebook"
SHORT = {"type": "short", "content": "What is 3/4 as a decimal?", "answer": "0.75", "explanation": "3 ÷ 4"}


async def played(arena, user_id: uuid.UUID, question_id: str, answer: str = "0.7") -> uuid.UUID:
    """A finished one-round match in which `user_id` answered the question (as the engine writes it)."""
    async with tenant_transaction(arena.res.db(), TenantContext(zone_id=1, role="zone_admin")) as s:
        match_id = (await s.execute(text(
            "INSERT INTO arena.matches (zone_id, mode, round_count, round_seconds, status) VALUES (1, 'casual', 1, 20,"
            " 'finished') RETURNING id"))).scalar_one()
        await s.execute(text("INSERT INTO arena.match_rounds (zone_id, match_id, round_no, question_id)"
                             " VALUES (1, :m, 1, :q)"), {"m": match_id, "q": question_id})
        await s.execute(text(
            "INSERT INTO arena.round_answers (zone_id, match_id, round_no, seat, user_id, question_id, answer, elapsed_ms,"
            " verdict) VALUES (1, :m, 1, 0, :u, :q, :a, 1500, 'wrong')"),
            {"m": match_id, "u": user_id, "q": question_id, "a": answer})
        await service.record_wrong(s, 1, user_id, uuid.UUID(question_id), match_id, answer, "Divide 3 by 4.")
    return match_id


async def test_bookmarks_wrong_answers_and_practice(arena) -> None:
    zone, teacher = arena.actor("zone_admin"), arena.actor("teacher", arena.org_b)
    student, other = arena.actor("student"), arena.actor("student")
    shared = await arena.ok("POST", "/api/v1/arena/questions", zone, 201, json={**SHORT, "shared": True})
    second = await arena.ok("POST", "/api/v1/arena/questions", zone, 201,
                            json={"type": "short", "content": "2 + 2?", "answer": "4", "shared": True})
    theirs = await arena.ok("POST", "/api/v1/arena/questions", teacher, 201, json=SHORT)
    entry = await arena.ok("PUT", f"{BASE}/{second['id']}", student)
    assert entry["bookmarked"] and entry["answer"] is None and entry["wrong_count"] == 0
    await arena.fails("PUT", f"{BASE}/{theirs['id']}", student, 404, "arena.not_found")

    match_id = await played(arena, student.user_id, shared["id"])
    await played(arena, student.user_id, shared["id"], "0.8")
    items = (await arena.ok("GET", BASE, student))["items"]
    assert [i["question_id"] for i in items] == [shared["id"], second["id"]]
    assert items[0]["wrong_count"] == 2 and items[0]["last_answer"] == "0.8" and items[0]["answer"] == "0.75"
    assert items[0]["ai_feedback"] == "Divide 3 by 4." and items[0]["last_match_id"] != str(match_id)
    assert [i["question_id"] for i in (await arena.ok("GET", BASE, student, params={"bookmarked": "true"}))["items"]] \
        == [second["id"]]
    assert (await arena.ok("GET", BASE, other))["items"] == []
    await arena.fails("DELETE", f"{BASE}/{shared['id']}", other, 404, "arena.not_found")

    async with tenant_transaction(arena.res.db(), TenantContext(zone_id=1, role="zone_admin")) as s:
        picks = await service.practice_question_ids(s, 1, student.user_id, 5)
        assert picks == [uuid.UUID(shared["id"]), uuid.UUID(second["id"])]
        assert await service.practice_question_ids(s, 1, other.user_id, 5) == []
    await arena.ok("DELETE", f"{BASE}/{shared['id']}", student, 204)
    await arena.fails("DELETE", f"{BASE}/{shared['id']}", student, 404, "arena.not_found")
    page = await arena.ok("GET", BASE, student, params={"limit": 1})
    assert len(page["items"]) == 1 and page["next_cursor"] is None
