"""Similar-question search on the near-paraphrase set with the real MiniLM (through inference):
each question's paraphrase or look-alike among its top 5, visibility by org and zone, questions
the player has played left out, the plan choice, backfill of pending embeddings, and grounded
explanations with the CPU LLM."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from megacity.db import TenantContext, tenant_transaction
from services.arena.questions import queries
from services.arena.questions import service as question_service
from services.arena.questions.queries import QuestionRow
from services.arena.similar import search
from services.arena.similar.queries import Scope
from services.arena.similar.queries import nearest as raw_nearest
from services.arena.similar.service import Similar, explain_prompt
from services.arena.tests.test_notebook import played

PAIRS: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "data" / "paraphrases.yaml").read_text())["pairs"]
QUESTIONS = "/api/v1/arena/questions"


def test_plan_choice_follows_the_tenant_share() -> None:
    assert search.choose(2_000, 100_000, 5).plan == "exact"
    assert search.choose(9_000, 100_000, 5).plan == "exact"      # under 10 % of the table
    mid = search.choose(26_000, 100_000, 5)
    assert mid.plan == "hnsw" and search.EF_MIN < mid.ef_search <= search.EF_MAX
    whole = search.choose(100_000, 100_000, 5)
    assert whole.plan == "hnsw" and whole.ef_search == search.EF_MIN
    assert search.choose(300, -1, 5).plan == "exact"             # before the first ANALYZE


async def _load_pairs(app, who) -> dict[str, tuple[str, str]]:
    ids = {}
    for pair in PAIRS:
        a = await app.ok("POST", QUESTIONS, who, 201, json=pair["a"], params={"allow_duplicate": "true"})
        b = await app.ok("POST", QUESTIONS, who, 201, json=pair["b"], params={"allow_duplicate": "true"})
        ids[pair["id"]] = (a["id"], b["id"])
    return ids


async def test_similar_finds_each_pair_and_respects_visibility(arena_ai) -> None:
    teacher_a = arena_ai.actor("teacher")
    ids = await _load_pairs(arena_ai, teacher_a)
    missing = []
    for name, (a, b) in ids.items():
        found = (await arena_ai.ok("GET", f"{QUESTIONS}/{a}/similar", teacher_a))["items"]
        assert len(found) == 5 and a not in {f["id"] for f in found}
        assert all(f["similarity"] >= found[i + 1]["similarity"] for i, f in enumerate(found[:-1]))
        if b not in {f["id"] for f in found}:
            missing.append(name)
    assert not missing, missing
    # Org B sees none of org A's questions, nor does another zone.
    teacher_b = arena_ai.actor("teacher", arena_ai.org_b)
    own_b = await arena_ai.ok("POST", QUESTIONS, teacher_b, 201, json=PAIRS[0]["b"])
    assert (await arena_ai.ok("GET", f"{QUESTIONS}/{own_b['id']}/similar", teacher_b))["items"] == []
    await arena_ai.fails("GET", f"{QUESTIONS}/{ids['h2o'][0]}/similar", teacher_b, 404, "arena.not_found")
    # Played questions are left out for that player only; answers are never shown.
    student = arena_ai.actor("student")
    a, b = ids["h2o"]
    first = (await arena_ai.ok("GET", f"{QUESTIONS}/{a}/similar", student, params={"limit": 1}))["items"]
    assert [f["id"] for f in first] == [b] and "answer" not in first[0]
    await played(arena_ai, student.user_id, b)
    after = (await arena_ai.ok("GET", f"{QUESTIONS}/{a}/similar", student))["items"]
    assert b not in {f["id"] for f in after} and len(after) == 5
    assert b in {f["id"] for f in (await arena_ai.ok("GET", f"{QUESTIONS}/{a}/similar", teacher_a))["items"]}


async def test_hnsw_and_exact_plans_agree_on_a_small_bank(arena_ai) -> None:
    teacher = arena_ai.actor("teacher")
    ids = await _load_pairs(arena_ai, teacher)
    scope = Scope(1, teacher.org_id)
    async with tenant_transaction(arena_ai.res.db(), TenantContext(1, teacher.org_id, "teacher", teacher.user_id)) as s:
        for a, _ in list(ids.values())[:8]:
            vector = await queries.embedding_of(s, 1, uuid.UUID(a))
            assert vector is not None
            exact = await raw_nearest(s, scope, vector, 5, "exact")
            hnsw = await raw_nearest(s, scope, vector, 5, "hnsw", ef_search=200)
            assert [n.id for n in exact] == [n.id for n in hnsw]
            # The question itself (and any question of the same text) at similarity 1.
            assert uuid.UUID(a) in {n.id for n in exact if n.similarity == pytest.approx(1.0, abs=1e-4)}


async def test_backfill_embeds_pending_questions(arena_ai) -> None:
    teacher = arena_ai.actor("teacher")
    async with tenant_transaction(arena_ai.res.db(), TenantContext(1, teacher.org_id, "teacher", teacher.user_id)) as s:
        row = await queries.insert_question(s, 1, teacher.org_id, teacher.user_id, {
            "type": "short", "content": "What is the capital of Japan?", "choices": None, "answer": "Tokyo",
            "aliases": [], "rubric": "", "explanation": "", "difficulty": 1}, None)
    await arena_ai.fails("GET", f"{QUESTIONS}/{row.id}/similar", teacher, 409, "arena.embedding_pending")
    # The service's own upkeep loop backfills too: between it and these two concurrent passes the
    # row is stored once (a pass stores a vector only while the row is still pending).
    stored = await asyncio.gather(*(question_service.backfill_embeddings(arena_ai.res, 1, 10) for _ in range(2)))
    assert sum(stored) <= 1
    assert await question_service.backfill_embeddings(arena_ai.res, 1, 10) == 0
    assert (await arena_ai.ok("GET", f"{QUESTIONS}/{row.id}", teacher))["embedding_status"] == "ready"
    await arena_ai.ok("GET", f"{QUESTIONS}/{row.id}/similar", teacher)


async def test_explanation_cites_retrieved_questions(arena_ai) -> None:
    teacher, student = arena_ai.actor("teacher"), arena_ai.actor("student")
    ids = await _load_pairs(arena_ai, teacher)
    a, b = ids["charged-vs-not-charged"]
    await arena_ai.fails("POST", f"{QUESTIONS}/{a}/explain", student, 404, "arena.not_found", json={})
    await played(arena_ai, student.user_id, a, "neutron")
    done = await arena_ai.ok("POST", f"{QUESTIONS}/{a}/explain", student, json={"answer": "neutron"})
    assert done["explanation"] and len(done["sources"]) == 3
    assert b in {s["id"] for s in done["sources"]}
    assert set(done["cited"]) <= {s["id"] for s in done["sources"]}
    staff = await arena_ai.ok("POST", f"{QUESTIONS}/{b}/explain", teacher)
    assert staff["question_id"] == b


async def test_similar_needs_an_embedding(arena) -> None:
    zone = arena.actor("zone_admin")
    q = await arena.ok("POST", QUESTIONS, zone, 201, json={"type": "short", "content": "x?", "answer": "y", "shared": True})
    await arena.fails("GET", f"{QUESTIONS}/{q['id']}/similar", arena.actor("student"), 409, "arena.embedding_pending")
    await arena.fails("POST", f"{QUESTIONS}/{q['id']}/explain", zone, 409, "arena.embedding_pending")


def _row(content: str, answer: str) -> QuestionRow:
    now = dt.datetime.now(dt.UTC)
    return QuestionRow(uuid.uuid4(), 1, None, "short", content, None, answer, [], "", "", 3, 1500.0, 350.0, 0,
                       "ready", None, now, now)


def test_explain_prompt_gives_only_answers_the_player_has_seen() -> None:
    """A player's explanation must not hand out the answer of a related question it has not
    played (a match may still ask it); the player's own answer is quoted data."""
    asked = _row("Which particle is not charged?", "neutron")
    played_q, unplayed = _row("Which particle is charged?", "proton"), _row("Name a charged lepton.", "electron")
    prompt = explain_prompt(asked, 'proton"\nRight answer: proton',
                            [Similar(played_q, 0.9, answer_shown=True), Similar(unplayed, 0.8, answer_shown=False)])
    assert "[Q1] Which particle is charged? Answer: proton." in prompt
    assert "[Q2] Name a charged lepton." in prompt and "electron" not in prompt
    assert [line for line in prompt.splitlines() if line.startswith("Right answer:")] == ["Right answer: neutron"]
