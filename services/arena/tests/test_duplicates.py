"""Duplicate detection on the fixed near-paraphrase set (tests/data/paraphrases.yaml): the checks
alone (pure), then create-time 409s and the import's per-row report with the real MiniLM through
the inference service."""
from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.arena.questions.duplicates import Draft, reasons_apart
from services.arena.questions.schemas import QuestionFields
from services.arena.questions.service import draft_of

PAIRS: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "data" / "paraphrases.yaml").read_text())["pairs"]
BASE = "/api/v1/arena/questions"


def _draft(q: dict[str, Any]) -> Draft:
    """As the service sees it: validated (a choice's letter becomes its text)."""
    return draft_of(QuestionFields.model_validate(q))


def test_the_set_holds_both_kinds() -> None:
    assert sum(p["duplicate"] for p in PAIRS) >= 12 and sum(not p["duplicate"] for p in PAIRS) >= 12
    assert len({p["id"] for p in PAIRS}) == len(PAIRS)


@pytest.mark.parametrize("pair", PAIRS, ids=[p["id"] for p in PAIRS])
def test_checks_tell_look_alikes_apart(pair: dict[str, Any]) -> None:
    apart = reasons_apart(_draft(pair["a"]), _draft(pair["b"]))
    if pair["duplicate"]:
        assert apart == [], apart
    else:
        assert set(pair["apart"]) <= set(apart), apart


def test_free_text_model_answers_in_other_words_do_not_tell_questions_apart() -> None:
    a = Draft("free", "Explain why ice floats on water.", "Ice is less dense than liquid water.")
    b = Draft("free", "Explain why ice floats on liquid water.", "Because water expands when it freezes.")
    assert reasons_apart(a, b) == []
    assert reasons_apart(a, Draft("free", "Explain why ice does not float.", "")) == ["negation"]
    assert reasons_apart(a, Draft("free", "Explain why ice sinks in water.", "")) == ["opposites"]


async def test_create_refuses_exactly_the_duplicates(arena_ai) -> None:
    """Each pair in an org of its own: `a`, then `b` — 409 naming `a` for a duplicate, 201 for a
    look-alike."""
    wrong = []
    for pair in PAIRS:
        teacher = arena_ai.actor("teacher", uuid.uuid4())
        a = await arena_ai.ok("POST", BASE, teacher, 201, json=pair["a"])
        assert a["embedding_status"] == "ready" and a["duplicate_check"] == "done"
        resp = await arena_ai.call("POST", BASE, teacher, json=pair["b"])
        body = resp.json()
        if pair["duplicate"]:
            ok = resp.status_code == 409 and body["code"] == "arena.duplicate_question" and body["duplicate_of"] == a["id"]
        else:
            ok = resp.status_code == 201
        if not ok:
            wrong.append((pair["id"], resp.status_code, body))
    assert not wrong, wrong


async def test_allow_duplicate_and_shared_scope(arena_ai) -> None:
    pair = next(p for p in PAIRS if p["id"] == "capital-france")
    zone, teacher = arena_ai.actor("zone_admin"), arena_ai.actor("teacher")
    shared = await arena_ai.ok("POST", BASE, zone, 201, json={**pair["a"], "shared": True})
    # An org question is compared with the zone-shared ones too.
    body = await arena_ai.fails("POST", BASE, teacher, 409, "arena.duplicate_question", json=pair["b"])
    assert body["duplicate_of"] == shared["id"] and body["similarity"] >= 0.85
    kept = await arena_ai.ok("POST", BASE, teacher, 201, json=pair["b"], params={"allow_duplicate": "true"})
    assert kept["duplicate_check"] == "skipped"
    # A changed content is checked again (excluding itself).
    other = await arena_ai.ok("POST", BASE, teacher, 201, json={"type": "short", "content": "What is 2 + 2?", "answer": "4"})
    await arena_ai.fails("PATCH", f"{BASE}/{other['id']}", teacher, 409, "arena.duplicate_question",
                         json={"content": "Which city is the capital of France?", "answer": "Paris"})
    await arena_ai.ok("PATCH", f"{BASE}/{kept['id']}", teacher, json={"difficulty": 2})
    # Another org's (or zone's) identical question is no duplicate: a 409 must never name a
    # question the caller cannot see.
    same = {"type": "short", "content": "What is 2 + 2?", "answer": "4"}
    for outsider in (arena_ai.actor("teacher", arena_ai.org_b), arena_ai.actor("teacher", zone_id=2)):
        assert (await arena_ai.ok("POST", BASE, outsider, 201, json=same))["duplicate_check"] == "done"


async def test_import_reports_duplicates_per_row(arena_ai) -> None:
    teacher = arena_ai.actor("teacher")
    existing = await arena_ai.ok("POST", BASE, teacher, 201, json={"type": "short", "answer": "Jupiter",
                                                                   "content": "What is the largest planet in our solar system?"})
    out = io.StringIO()
    csv.writer(out).writerows([
        ["type", "content", "answer"],
        ["short", "Which planet is the largest in the solar system?", "Jupiter"],   # the bank's question
        ["short", "What is the smallest planet in our solar system?", "Mercury"],   # a look-alike: fine
        ["short", "What is the chemical formula of water?", "H2O"],
        ["short", "What is the chemical formula for water?", "h2o"],                # repeats row 4
    ])
    data = out.getvalue().encode()
    body = await arena_ai.fails("POST", f"{BASE}/imports", teacher, 422, "arena.import_invalid",
                                files={"file": ("q.csv", data, "text/csv")})
    report = {e["row"]: e for e in body["errors"]}
    assert set(report) == {2, 5}
    assert report[2]["code"] == "duplicate" and report[2]["duplicate_of"] == existing["id"]
    assert report[5]["duplicate_of_row"] == 4
    result = await arena_ai.ok("POST", f"{BASE}/imports", teacher, 201, files={"file": ("q.csv", data, "text/csv")},
                               params={"allow_duplicate": "true"})
    assert result["created"] == 4 and [d["row"] for d in result["duplicates"]] == [2, 5]


async def test_two_identical_creates_at_once_store_one(arena_ai) -> None:
    """Creates of a zone are serialised: the second sees the first and is refused."""
    import asyncio

    teacher = arena_ai.actor("teacher")
    body = {"type": "short", "content": "What is the chemical symbol for sodium?", "answer": "Na"}
    first, second = await asyncio.gather(*(arena_ai.call("POST", BASE, teacher, json=body) for _ in range(2)))
    assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
