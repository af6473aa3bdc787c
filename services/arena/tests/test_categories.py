"""Category tree: create, list (depth first), rename, move (no cycles), delete, org vs shared."""
from __future__ import annotations

import asyncio

BASE = "/api/v1/arena/categories"


async def test_tree_moves_refuse_cycles(arena) -> None:
    admin = arena.actor("org_admin")
    math = await arena.ok("POST", BASE, admin, 201, json={"name": "Math"})
    algebra = await arena.ok("POST", BASE, admin, 201, json={"name": "Algebra", "parent_id": math["id"]})
    linear = await arena.ok("POST", BASE, admin, 201, json={"name": "Linear", "parent_id": algebra["id"]})
    assert linear["path"] == ["Math", "Algebra", "Linear"] and linear["shared"] is False
    await arena.fails("POST", BASE, admin, 409, "arena.category_exists", json={"name": "algebra", "parent_id": math["id"]})
    # Below itself or below its own descendant: refused.
    await arena.fails("PATCH", f"{BASE}/{math['id']}", admin, 409, "arena.category_cycle", json={"parent_id": linear["id"]})
    await arena.fails("PATCH", f"{BASE}/{math['id']}", admin, 409, "arena.category_cycle", json={"parent_id": math["id"]})
    moved = await arena.ok("PATCH", f"{BASE}/{linear['id']}", admin, json={"parent_id": math["id"], "name": "Linear eq."})
    assert moved["path"] == ["Math", "Linear eq."]
    listing = await arena.ok("GET", BASE, admin)
    assert [c["path"] for c in listing["items"]] == [["Math"], ["Math", "Algebra"], ["Math", "Linear eq."]]
    await arena.fails("DELETE", f"{BASE}/{math['id']}", admin, 409, "arena.category_not_empty")
    await arena.ok("DELETE", f"{BASE}/{algebra['id']}", admin, 204)
    root = await arena.ok("PATCH", f"{BASE}/{linear['id']}", admin, json={"parent_id": None})
    assert root["parent_id"] is None and root["path"] == ["Linear eq."]


async def test_concurrent_opposite_moves_never_make_a_cycle(arena) -> None:
    admin = arena.actor("org_admin")
    a = await arena.ok("POST", BASE, admin, 201, json={"name": "A"})
    b = await arena.ok("POST", BASE, admin, 201, json={"name": "B"})
    r1, r2 = await asyncio.gather(arena.call("PATCH", f"{BASE}/{a['id']}", admin, json={"parent_id": b["id"]}),
                                  arena.call("PATCH", f"{BASE}/{b['id']}", admin, json={"parent_id": a["id"]}))
    assert sorted([r1.status_code, r2.status_code]) == [200, 409], (r1.text, r2.text)


async def test_shared_and_org_categories(arena) -> None:
    zone = arena.actor("zone_admin")
    teacher_a, teacher_b = arena.actor("teacher"), arena.actor("teacher", arena.org_b)
    physics = await arena.ok("POST", BASE, zone, 201, json={"name": "Physics", "shared": True})
    assert physics["shared"] is True and physics["org_id"] is None
    await arena.fails("POST", BASE, teacher_a, 403, "arena.shared_forbidden", json={"name": "X", "shared": True})
    await arena.fails("POST", BASE, zone, 403, "arena.org_required", json={"name": "Mine"})
    # An org may hang its own category under a shared one; the other org does not see it.
    mine = await arena.ok("POST", BASE, teacher_a, 201, json={"name": "Our labs", "parent_id": physics["id"]})
    assert mine["path"] == ["Physics", "Our labs"]
    assert [c["name"] for c in (await arena.ok("GET", BASE, teacher_b))["items"]] == ["Physics"]
    await arena.fails("PATCH", f"{BASE}/{mine['id']}", teacher_b, 404, "arena.not_found", json={"name": "Ours"})
    await arena.fails("PATCH", f"{BASE}/{physics['id']}", teacher_a, 403, "arena.shared_forbidden", json={"name": "P"})
    # A shared category cannot sit below an org one; a shared one with an org child cannot go.
    await arena.fails("POST", BASE, zone, 422, "arena.category_invalid",
                      json={"name": "S", "parent_id": mine["id"], "shared": True})
    await arena.fails("DELETE", f"{BASE}/{physics['id']}", zone, 409, "arena.category_not_empty")
    # Players read the tree of their org (to pick a topic) but write nothing; parents have no
    # arena permission; another zone sees nothing.
    student_b = arena.actor("student", arena.org_b)
    assert [c["name"] for c in (await arena.ok("GET", BASE, student_b))["items"]] == ["Physics"]
    await arena.fails("POST", BASE, student_b, 403, "auth.permission_denied", json={"name": "Mine"})
    await arena.fails("GET", BASE, arena.actor("parent"), 403, "auth.permission_denied")
    other = arena.actor("zone_admin", zone_id=2)
    assert (await arena.ok("GET", BASE, other))["items"] == []
