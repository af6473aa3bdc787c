"""Platform audit (issue #17 §4) from arena: question bank changes (create, update, delete) and
appeal decisions, done through the real HTTP API, each leave one `audit.arena.*` event in
arena's own outbox with actor, zone, org, target and before/after."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from megacity.testing import audit_actor, outbox_audits
from services.arena.tests.conftest import ZONE, ArenaApp
from services.arena.tests.test_appeals import CLOSE
from services.arena.tests.test_ratings import apply, finished_match

BASE = "/api/v1/arena/questions"
MC = {"type": "mc", "content": "Which particle carries no electric charge?", "choices": ["proton", "neutron", "electron"],
      "answer": "B", "difficulty": 2}


@pytest.fixture
async def audits(span_exporter, arena: ArenaApp) -> AsyncIterator:
    async with outbox_audits(arena.db, "arena", ZONE) as read:
        yield read


async def test_question_bank_changes_are_audited(audits, arena: ArenaApp) -> None:
    teacher = arena.actor("teacher")
    created = await arena.ok("POST", BASE, teacher, 201, json=MC)
    [c] = await audits("arena.question.created")
    assert c["actor"] == audit_actor(teacher) and c["org_id"] == arena.org_a
    assert c["target"] == {"type": "question", "id": created["id"]}
    assert c["after"]["type"] == "mc" and c["after"]["shared"] is False
    assert "neutron" not in str(c)  # a summary, not the question and its answer
    await arena.ok("PATCH", f"{BASE}/{created['id']}", teacher, json={"difficulty": 4, "answer": "C"})
    [u] = await audits("arena.question.updated")
    assert u["after"]["fields"] == ["answer", "difficulty"]
    await arena.ok("DELETE", f"{BASE}/{created['id']}", teacher, 204)
    [d] = await audits("arena.question.deleted")
    assert d["target"]["id"] == created["id"] and d["before"]["type"] == "mc"
    # A refused write (a student) records nothing.
    assert (await arena.call("POST", BASE, arena.actor("student"), json=MC)).status_code == 403
    assert len(await audits("arena.question.created")) == 1


async def test_appeal_decisions_are_audited(audits, arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    m = await finished_match(arena, a, b, answers=CLOSE)
    await apply(arena, m)
    made = await arena.ok("POST", f"/api/v1/arena/matches/{m}/rounds/2/appeal", b, 201,
                          json={"reason": "my answer means the same"})
    moderator = arena.actor("org_admin", arena.org_b)
    await arena.ok("POST", f"/api/v1/arena/appeals/{made['id']}/decide", moderator,
                   json={"decision": "overturned", "verdict": "correct", "feedback": "an accepted form"})
    [o] = await audits("arena.appeal.overturned")
    assert o["actor"] == audit_actor(moderator) and o["org_id"] == arena.org_b
    assert o["target"] == {"type": "appeal", "id": made["id"]}
    assert o["before"] == {"status": "open", "verdict": "wrong"}
    assert o["after"]["verdict"] == "correct" and o["after"]["refunds"] == 1 and o["after"]["round"] == 2


async def test_an_upheld_appeal_is_audited(audits, arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor()
    m = await finished_match(arena, a, b, answers=CLOSE)
    await apply(arena, m)
    made = await arena.ok("POST", f"/api/v1/arena/matches/{m}/rounds/2/appeal", b, 201, json={"reason": "please"})
    zone_admin = arena.actor("zone_admin")
    await arena.ok("POST", f"/api/v1/arena/appeals/{made['id']}/decide", zone_admin,
                   json={"decision": "upheld", "feedback": "the question asks for the country"})
    [u] = await audits("arena.appeal.upheld")
    assert u["actor"] == audit_actor(zone_admin) and u["org_id"] == arena.org_a  # the player's org, for its org admins
    assert u["after"]["status"] == "upheld" and u["after"]["verdict"] is None and u["after"]["refunds"] == 0
