"""Question bank without inference: CRUD, validation, visibility (org / zone-shared / other zone),
pending embeddings, CSV and xlsx import (all or nothing, per-row report)."""
from __future__ import annotations

import io

import openpyxl

from services.arena.questions import service

BASE = "/api/v1/arena/questions"
MC = {"type": "mc", "content": "Which particle carries no electric charge?", "choices": ["proton", "neutron", "electron"],
      "answer": "B", "difficulty": 2}
SHORT = {"type": "short", "content": "What is 3/4 as a decimal?", "answer": "0.75", "aliases": ["3/4"]}
FREE = {"type": "free", "content": "Explain why ice floats on water.", "rubric": "density; hydrogen bonds"}


async def test_crud_and_validation(arena) -> None:
    teacher = arena.actor("teacher")
    created = await arena.ok("POST", BASE, teacher, 201, json=MC)
    assert created["answer"] == "neutron" and created["org_id"] == str(arena.org_a) and not created["shared"]
    # Inference is down: stored all the same, embedding and duplicate check pending.
    assert created["embedding_status"] == "pending" and created["duplicate_check"] == "pending"
    got = await arena.ok("GET", f"{BASE}/{created['id']}", teacher)
    assert got["content"] == MC["content"] and got["choices"] == MC["choices"]
    changed = await arena.ok("PATCH", f"{BASE}/{created['id']}", teacher, json={"difficulty": 4, "answer": "proton"})
    assert (changed["difficulty"], changed["answer"]) == (4, "proton")
    await arena.fails("PATCH", f"{BASE}/{created['id']}", teacher, 422, "arena.question_invalid", json={"answer": "quark"})
    short = await arena.ok("PATCH", f"{BASE}/{created['id']}", teacher, json={"type": "short", "answer": "proton"})
    assert short["choices"] is None and short["type"] == "short"
    for bad in ({**MC, "answer": "Z"}, {**MC, "choices": None}, {**SHORT, "answer": ""}, {**FREE, "rubric": ""},
                {**SHORT, "choices": ["a", "b"]}, {**SHORT, "difficulty": 9}, {**SHORT, "content": ""}):
        await arena.fails("POST", BASE, teacher, 422, "request.invalid", json=bad)
    await arena.ok("DELETE", f"{BASE}/{created['id']}", teacher, 204)
    await arena.fails("GET", f"{BASE}/{created['id']}", teacher, 404, "arena.not_found")


async def test_visibility_org_shared_and_zones(arena) -> None:
    zone, teacher_a, teacher_b = arena.actor("zone_admin"), arena.actor("teacher"), arena.actor("teacher", arena.org_b)
    shared = await arena.ok("POST", BASE, zone, 201, json={**SHORT, "shared": True})
    own_a = await arena.ok("POST", BASE, teacher_a, 201, json=MC)
    own_b = await arena.ok("POST", BASE, teacher_b, 201, json=FREE)
    await arena.fails("POST", BASE, teacher_a, 403, "arena.shared_forbidden", json={**SHORT, "shared": True})
    await arena.fails("POST", BASE, zone, 403, "arena.org_required", json=SHORT)

    async def ids(who, **params) -> set[str]:
        return {q["id"] for q in (await arena.ok("GET", BASE, who, params=params))["items"]}

    assert await ids(teacher_a) == {shared["id"], own_a["id"]}
    assert await ids(teacher_b) == {shared["id"], own_b["id"]}
    assert await ids(zone) == {shared["id"], own_a["id"], own_b["id"]}
    assert await ids(teacher_a, shared="true") == {shared["id"]}
    assert await ids(arena.actor("zone_admin", zone_id=2)) == set()
    await arena.fails("GET", f"{BASE}/{own_b['id']}", teacher_a, 404, "arena.not_found")
    await arena.fails("PATCH", f"{BASE}/{shared['id']}", teacher_a, 403, "arena.shared_forbidden", json={"difficulty": 1})
    await arena.fails("DELETE", f"{BASE}/{own_b['id']}", teacher_a, 404, "arena.not_found")
    await arena.fails("GET", BASE, arena.actor("student"), 403, "auth.permission_denied")
    # Zone admins change any row of the zone; paging by cursor covers every row once.
    await arena.ok("PATCH", f"{BASE}/{own_a['id']}", zone, json={"difficulty": 5})
    page = await arena.ok("GET", BASE, zone, params={"limit": 2})
    rest = await arena.ok("GET", BASE, zone, params={"limit": 2, "cursor": page["next_cursor"]})
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


async def test_categories_link_by_visibility(arena) -> None:
    zone, teacher_a, teacher_b = arena.actor("zone_admin"), arena.actor("teacher"), arena.actor("teacher", arena.org_b)
    physics = await arena.ok("POST", "/api/v1/arena/categories", zone, 201, json={"name": "Physics", "shared": True})
    labs_b = await arena.ok("POST", "/api/v1/arena/categories", teacher_b, 201, json={"name": "Labs"})
    q = await arena.ok("POST", BASE, teacher_a, 201, json={**MC, "category_ids": [physics["id"]]})
    assert q["category_ids"] == [physics["id"]]
    await arena.fails("POST", BASE, teacher_a, 404, "arena.not_found", json={**SHORT, "category_ids": [labs_b["id"]]})
    listed = await arena.ok("GET", BASE, teacher_a, params={"category_id": physics["id"]})
    assert [x["id"] for x in listed["items"]] == [q["id"]]


def _csv(rows: list[list[str]]) -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


async def test_import_all_or_nothing_with_row_report(arena) -> None:
    teacher = arena.actor("teacher")
    await arena.ok("POST", "/api/v1/arena/categories", teacher, 201, json={"name": "Chemistry"})
    header = ["type", "content", "answer", "choices", "aliases", "rubric", "difficulty", "categories"]
    bad = _csv([header, ["mc", "Symbol of gold?", "Au", "Ag|Au|Fe", "", "", "2", "chemistry"],
                ["short", "", "x", "", "", "", "", ""], ["mc", "Pick one", "Q", "a|b", "", "", "", ""],
                ["short", "H2O is?", "water", "", "", "", "7", "Nope"]])
    body = await arena.fails("POST", f"{BASE}/imports", teacher, 422, "arena.import_invalid",
                             files={"file": ("q.csv", bad, "text/csv")})
    assert {(e["row"], e["code"]) for e in body["errors"]} == {(3, "required"), (4, "not_a_choice"),
                                                               (5, "out_of_range")}
    assert (await arena.ok("GET", BASE, teacher))["items"] == []
    good = _csv([header, ["mc", "Symbol of gold?", "Au", "Ag|Au|Fe", "", "", "2", "chemistry"],
                 ["short", "H2O is?", "water", "", "dihydrogen monoxide", "", "", ""],
                 ["free", "Why do metals conduct?", "", "", "", "free electrons", "4", ""]])
    result = await arena.ok("POST", f"{BASE}/imports", teacher, 201, files={"file": ("q.csv", good, "text/csv")})
    assert result["created"] == 3 and result["by_type"] == {"mc": 1, "short": 1, "free": 1}
    assert result["duplicate_check"] == "pending"
    first = await arena.ok("GET", f"{BASE}/{result['ids'][0]}", teacher)
    assert first["answer"] == "Au" and len(first["category_ids"]) == 1
    await arena.fails("POST", f"{BASE}/imports", teacher, 422, "arena.import_invalid",
                      files={"file": ("q.csv", _csv([header, ["short", "x", "y", "", "", "", "", "Missing"]]), "text/csv")})
    await arena.fails("POST", f"{BASE}/imports", teacher, 422, "arena.import_invalid",
                      files={"file": ("q.csv", b"type,content,colour\nshort,x,y\n", "text/csv")})


async def test_import_size_limits(arena) -> None:
    """Over MAX_ROWS rows or MAX_BYTES bytes: 413, nothing read into the bank."""
    from services.arena.questions import import_file

    teacher = arena.actor("teacher")
    rows = _csv([["type", "content", "answer"], *(["short", f"Question {i}?", "x"]
                                                  for i in range(import_file.MAX_ROWS + 1))])
    big = b"type,content,answer\n" + b"short,x,y\n" * (import_file.MAX_BYTES // 10 + 1)
    for data in (rows, big):
        await arena.fails("POST", f"{BASE}/imports", teacher, 413, "arena.import_too_large",
                          files={"file": ("q.csv", data, "text/csv")})
    assert (await arena.ok("GET", BASE, teacher))["items"] == []


async def test_import_xlsx_and_template(arena) -> None:
    admin = arena.actor("org_admin")
    template = await arena.ok("GET", f"{BASE}/imports/template.csv", admin)
    assert template.content.decode("utf-8-sig").startswith("type,content,answer")
    wb = openpyxl.Workbook()
    ws = wb.worksheets[0]
    ws.append(["Content", "Type", "Answer", "Aliases", "Difficulty"])
    ws.append(["Speed of light in km/s (approx.)?", "short", "300000", "300,000", 3])
    ws.append(["Boiling point of water at sea level (°C)?", "short", 100, "", 1])
    buf = io.BytesIO()
    wb.save(buf)
    result = await arena.ok("POST", f"{BASE}/imports", admin, 201,
                            files={"file": ("q.xlsx", buf.getvalue(), "application/octet-stream")})
    assert result["created"] == 2
    row = await arena.ok("GET", f"{BASE}/{result['ids'][1]}", admin)
    assert row["answer"] == "100" and row["difficulty"] == 1


async def test_backfill_waits_while_inference_is_down(arena) -> None:
    teacher = arena.actor("teacher")
    await arena.ok("POST", BASE, teacher, 201, json=SHORT)
    assert await service.backfill_embeddings(arena.res, 1, 10) == 0
    assert (await arena.ok("GET", BASE, teacher))["items"][0]["embedding_status"] == "pending"
