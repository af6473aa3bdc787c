"""Item banks over HTTP: `GET /api/v1/items/banks` (the org's banks by name, nobody else's) and
`PATCH /api/v1/items/banks/{id}` — a new scaling constant bumps the bank version (with
`exam.item_bank.changed`), so attempts started afterwards are given and scored under a new
frozen snapshot, while earlier attempts keep theirs; a rename does not."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from megacity.irt import ItemParams, eap
from services.exam.tests.conftest import ExamApp, make_bank, make_exam


def changes(app: ExamApp, bank_id: str) -> list[dict]:
    with psycopg.connect(app.db.admin_url) as conn:
        rows = conn.execute("SELECT payload FROM exam.outbox WHERE event_type = 'exam.item_bank.changed' ORDER BY id"
                            ).fetchall()
    docs = [p if isinstance(p, dict) else json.loads(p) for (p,) in rows]
    return [d for d in docs if d["item_bank_id"] == bank_id]


def snapshot_constants(app: ExamApp, bank_id: str) -> dict[int, float]:
    with psycopg.connect(app.db.admin_url) as conn:
        return dict(conn.execute("SELECT version, scaling_constant FROM exam.item_bank_snapshots WHERE bank_id = %s",
                                 (bank_id,)).fetchall())


async def test_list_banks_is_the_orgs_by_name(exam_app: ExamApp) -> None:
    app = exam_app
    teacher = app.actor("teacher")
    assert await app.ok("GET", "/api/v1/items/banks", teacher) == {"items": []}
    beta = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Beta", "scaling_constant": 1.702})
    alpha = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Alpha", "description": "first"})
    listed = (await app.ok("GET", "/api/v1/items/banks", teacher))["items"]
    assert [b["id"] for b in listed] == [alpha["id"], beta["id"]]
    assert listed[0] == alpha and listed[1]["scaling_constant"] == 1.702
    assert listed[0]["item_count"] == 0

    await make_bank(app, teacher, n_items=2, name="Gamma")
    gamma = next(b for b in (await app.ok("GET", "/api/v1/items/banks", teacher))["items"] if b["name"] == "Gamma")
    assert gamma["item_count"] == 2

    # Another org's teacher sees none of them; its admin acting on org A (zone admin) does.
    assert await app.ok("GET", "/api/v1/items/banks", app.actor("teacher", app.org_b)) == {"items": []}
    resp = await app.call("GET", "/api/v1/items/banks", app.actor("student"))
    assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"
    resp = await app.call("GET", f"/api/v1/items/banks?org_id={app.org_b}", teacher)
    assert resp.status_code == 404 and resp.json()["code"] == "org.not_found"


async def test_patch_bank_renames_and_a_new_scaling_constant_bumps_the_version(exam_app: ExamApp) -> None:
    app = exam_app
    teacher = app.actor("teacher")
    bank, items = await make_bank(app, teacher, n_items=3)
    other = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Other"})
    path = f"/api/v1/items/banks/{bank['id']}"
    start = await app.ok("GET", path, teacher)
    n_changes = len(changes(app, bank["id"]))

    renamed = await app.ok("PATCH", path, teacher, json={"name": "Algebra II", "description": "harder"})
    assert (renamed["name"], renamed["description"], renamed["version"]) == ("Algebra II", "harder", start["version"])
    same_d = await app.ok("PATCH", path, teacher, json={"scaling_constant": 1.0})
    assert same_d["version"] == start["version"] and len(changes(app, bank["id"])) == n_changes

    # A fixed exam taken under D = 1.0 ...
    exam = await make_exam(app, teacher, bank, items=items)
    first = app.actor("student")
    att1 = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", first, 201)

    new_d = await app.ok("PATCH", path, teacher, json={"scaling_constant": 1.702})
    assert new_d["scaling_constant"] == 1.702 and new_d["version"] == start["version"] + 1
    assert new_d["updated_at"] >= renamed["updated_at"]
    event = changes(app, bank["id"])[-1]
    assert event["change"] == "bank.scaling_constant" and event["item_bank_version"] == new_d["version"]
    assert await app.ok("GET", path, teacher) == new_d

    # ... and one started afterwards: each is given and scored under its own frozen version.
    second = app.actor("student")
    att2 = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", second, 201)
    snaps = snapshot_constants(app, bank["id"])
    assert snaps == {start["version"]: 1.0, new_d["version"]: 1.702}
    params = [ItemParams("logistic", i["a"], i["b"], i["c"], i["d"]) for i in items]
    for who, att, D in ((first, att1, 1.0), (second, att2, 1.702)):
        for item in items:
            await app.ok("POST", f"/api/v1/attempts/{att['id']}/responses", who, 201,
                         json={"item_id": item["id"], "answer": "B"})
        done = await app.ok("POST", f"/api/v1/attempts/{att['id']}/submit", who)
        assert done["result"]["theta"] == pytest.approx(eap(params, [1, 1, 1], D=D).theta, abs=1e-9)

    # Refusals: a taken name, an unknown bank, another org, a role without item:update, bad values.
    resp = await app.call("PATCH", path, teacher, json={"name": "Other"})
    assert resp.status_code == 409 and resp.json()["code"] == "item_bank.exists"
    assert (await app.ok("GET", f"/api/v1/items/banks/{other['id']}", teacher))["name"] == "Other"
    resp = await app.call("PATCH", f"/api/v1/items/banks/{uuid.uuid4()}", teacher, json={"name": "X"})
    assert resp.status_code == 404 and resp.json()["code"] == "item_bank.not_found"
    resp = await app.call("PATCH", path, app.actor("teacher", app.org_b), json={"scaling_constant": 2.0})
    assert resp.status_code == 404 and resp.json()["code"] == "item_bank.not_found"
    resp = await app.call("PATCH", path, app.actor("student"), json={"name": "Mine"})
    assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"
    for bad in ({"scaling_constant": 0}, {"scaling_constant": 6}, {"name": ""}, {"version": 99}):
        resp = await app.call("PATCH", path, teacher, json=bad)
        assert resp.status_code == 422, (bad, resp.text)
    assert (await app.ok("GET", path, teacher))["version"] == new_d["version"]
