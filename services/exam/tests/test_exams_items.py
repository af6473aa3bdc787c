"""Item banks, items and exams over HTTP: CRUD, validation, permissions per the role map,
tenant isolation, cursor pagination, publish rules, bank versioning with its outbox event."""
from __future__ import annotations

import json
import uuid

import psycopg

from services.exam.tests.conftest import ExamApp, logistic_item, make_bank, make_exam


def outbox(app: ExamApp, event_type: str) -> list[dict]:
    with psycopg.connect(app.db.admin_url) as conn:
        rows = conn.execute("SELECT payload, org_id FROM exam.outbox WHERE event_type = %s ORDER BY id",
                            (event_type,)).fetchall()
    return [{**(p if isinstance(p, dict) else json.loads(p)), "_org": str(o)} for p, o in rows]


async def test_items_crud_validation_and_bank_versions(exam_app: ExamApp) -> None:
    app = exam_app
    teacher = app.actor("teacher")
    bank = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Algebra", "scaling_constant": 1.702})
    assert bank["version"] == 0 and bank["item_count"] == 0
    dup = await app.call("POST", "/api/v1/items/banks", teacher, json={"name": "Algebra"})
    assert dup.status_code == 409 and dup.json()["code"] == "item_bank.exists"

    item = await app.ok("POST", "/api/v1/items", teacher, 201, json={"bank_id": bank["id"], **logistic_item("A1", 0.3)})
    assert item["max_score"] == 1 and item["revision"] == 1 and item["c"] == 0.0
    poly = await app.ok("POST", "/api/v1/items", teacher, 201, json={
        "bank_id": bank["id"], "code": "P1", "stem": "Explain.", "model": "gpcm", "a": 0.9, "thresholds": [-0.5, 0.7],
        "option_scores": {"none": 0, "partial": 1, "full": 2}, "content_area": "writing"})
    assert poly["max_score"] == 2

    # Bad input is a clear 4xx with a stable code, and writes nothing.
    for body, code in [
        ({**logistic_item("X1", 0.0), "b": None}, "item.invalid"),
        ({**logistic_item("X2", 0.0), "c": 0.5, "d": 0.4}, "item.invalid"),
        ({**logistic_item("X3", 0.0), "answer_key": "Z"}, "item.invalid"),
        ({"code": "X4", "stem": "s", "model": "grm", "a": 1, "thresholds": [1.0, 0.0], "option_scores": {"x": 0}},
         "item.invalid"),
        ({**logistic_item("A1", 0.0)}, "item.code_exists"),
    ]:
        resp = await app.call("POST", "/api/v1/items", teacher, json={"bank_id": bank["id"], **body})
        if code == "item.invalid":  # model-level rules fail request validation
            assert resp.status_code == 422, resp.text
        else:
            assert resp.status_code == 409 and resp.json()["code"] == code, resp.text
    resp = await app.call("POST", "/api/v1/items", teacher, json={"bank_id": str(uuid.uuid4()), **logistic_item("Z", 0)})
    assert resp.status_code == 422 and resp.json()["code"] == "item_bank.not_found"

    patched = await app.ok("PATCH", f"/api/v1/items/{item['id']}", teacher, json={"b": 0.9, "c": 0.2})
    assert patched["b"] == 0.9 and patched["revision"] == 2
    bad = await app.call("PATCH", f"/api/v1/items/{item['id']}", teacher, json={"model": "grm"})
    assert bad.status_code == 422 and bad.json()["code"] == "item.invalid"
    same = await app.ok("PATCH", f"/api/v1/items/{item['id']}", teacher, json={"b": 0.9})
    assert same["revision"] == 2  # no change, no new version
    retired = await app.ok("DELETE", f"/api/v1/items/{poly['id']}", teacher)
    assert retired["status"] == "retired"

    bank = await app.ok("GET", f"/api/v1/items/banks/{bank['id']}", teacher)
    assert bank["version"] == 4 and bank["item_count"] == 1  # create, create, update, retire
    events = outbox(app, "exam.item_bank.changed")
    assert [e["item_bank_version"] for e in events] == [1, 2, 3, 4]
    assert [e["change"] for e in events] == ["item.created", "item.created", "item.updated", "item.retired"]
    assert all(e["item_bank_id"] == bank["id"] and e["_org"] == str(app.org_a) for e in events)

    listed = await app.ok("GET", f"/api/v1/items?bank_id={bank['id']}&status=active", teacher)
    assert [i["code"] for i in listed["items"]] == ["A1"]


async def test_roles_and_tenant_isolation(exam_app: ExamApp) -> None:
    app = exam_app
    teacher, student = app.actor("teacher"), app.actor("student")
    bank, items = await make_bank(app, teacher, 3)
    exam = await make_exam(app, teacher, bank, items=items, publish=False)

    # Students cannot author; parents cannot read items.
    for who, method, path, body in [
        (student, "POST", "/api/v1/exams", {"title": "x", "kind": "adaptive", "item_bank_id": bank["id"]}),
        (student, "POST", "/api/v1/items/banks", {"name": "mine"}),
        (student, "GET", f"/api/v1/items/{items[0]['id']}", None),
        (student, "PATCH", f"/api/v1/exams/{exam['id']}", {"title": "hacked"}),
        (app.actor("parent"), "GET", "/api/v1/items", None),
        (app.actor("parent"), "POST", f"/api/v1/exams/{exam['id']}/publish", None),
    ]:
        resp = await app.call(method, path, who, json=body)
        assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied", (path, resp.text)
    resp = await app.client.get(f"/api/v1/exams/{exam['id']}", headers={"Host": "api.univprepai.com"})
    assert resp.status_code == 401 and resp.json()["code"] == "auth.token_missing"
    wrong_zone = app.actor("teacher", zone_id=2)
    resp = await app.client.get(f"/api/v1/exams/{exam['id']}", headers={**wrong_zone.headers, "Host": "api.univprepai.com"})
    assert resp.status_code == 403 and resp.json()["code"] == "auth.zone_mismatch"

    # A student does not see drafts.
    resp = await app.call("GET", f"/api/v1/exams/{exam['id']}", student)
    assert resp.status_code == 404 and resp.json()["code"] == "exam.not_found"
    await app.ok("POST", f"/api/v1/exams/{exam['id']}/publish", teacher)
    seen = await app.ok("GET", f"/api/v1/exams/{exam['id']}", student)
    assert seen["item_ids"] == [] and seen["item_count"] == 3  # the form is not shown before the attempt

    # Org B sees and changes nothing of org A's.
    b_teacher, b_student = app.actor("teacher", app.org_b), app.actor("student", app.org_b)
    for who in (b_teacher, b_student):
        resp = await app.call("GET", f"/api/v1/exams/{exam['id']}", who)
        assert resp.status_code == 404 and resp.json()["code"] == "exam.not_found"
        assert (await app.ok("GET", "/api/v1/exams", who))["items"] == []
    for method, path, body in [("PATCH", f"/api/v1/exams/{exam['id']}", {"title": "x"}),
                               ("POST", f"/api/v1/exams/{exam['id']}/archive", None),
                               ("GET", f"/api/v1/items/{items[0]['id']}", None),
                               ("PATCH", f"/api/v1/items/{items[0]['id']}", {"b": 2.0}),
                               ("DELETE", f"/api/v1/items/{items[0]['id']}", None),
                               ("GET", f"/api/v1/items/banks/{bank['id']}", None)]:
        resp = await app.call(method, path, b_teacher, json=body)
        assert resp.status_code == 404, (method, path, resp.text)
    resp = await app.call("POST", "/api/v1/exams", b_teacher,
                          json={"title": "steal", "kind": "fixed", "item_bank_id": bank["id"]})
    assert resp.status_code == 422 and resp.json()["code"] == "item_bank.not_found"
    resp = await app.call("POST", f"/api/v1/exams/{exam['id']}/start", b_student)
    assert resp.status_code == 404
    # A teacher cannot name another org; a zone admin can.
    resp = await app.call("GET", f"/api/v1/exams?org_id={app.org_a}", b_teacher)
    assert resp.status_code == 404 and resp.json()["code"] == "org.not_found"
    zone_admin = app.actor("zone_admin")
    resp = await app.call("GET", "/api/v1/exams", zone_admin)
    assert resp.status_code == 400 and resp.json()["code"] == "org.required"
    assert len((await app.ok("GET", f"/api/v1/exams?org_id={app.org_a}", zone_admin))["items"]) == 1
    assert (await app.ok("GET", f"/api/v1/items/{items[0]['id']}", teacher))["b"] == items[0]["b"]


async def test_exam_lifecycle_list_filters_and_cursor(exam_app: ExamApp) -> None:
    app = exam_app
    teacher, admin, student = app.actor("teacher"), app.actor("org_admin"), app.actor("student")
    bank, items = await make_bank(app, teacher, 4, areas=("algebra", "geometry"))
    class_a = str(uuid.uuid4())
    created = []
    for k in range(5):
        created.append(await make_exam(app, teacher, bank, items=items[:2], publish=False, title=f"Quiz {k}",
                                       class_id=class_a if k % 2 else None))
    adaptive = await app.ok("POST", "/api/v1/exams", admin, 201, json={
        "title": "Placement", "kind": "adaptive", "item_bank_id": bank["id"], "time_limit_seconds": 1200,
        "cat_settings": {"max_items": 4, "blueprint": {"algebra": 1, "geometry": 1}, "selection": "randomesque"}})
    assert adaptive["cat_settings"]["max_items"] == 4 and adaptive["item_ids"] == []

    for body, code in [({"title": "x", "kind": "adaptive", "item_bank_id": bank["id"], "item_ids": [items[0]["id"]]},
                        "exam.invalid"),
                       ({"title": "x", "kind": "fixed", "item_bank_id": bank["id"], "cat_settings": {}}, "exam.invalid"),
                       ({"title": "x", "kind": "fixed", "item_bank_id": bank["id"], "item_ids": [str(uuid.uuid4())]},
                        "exam.unknown_items")]:
        resp = await app.call("POST", "/api/v1/exams", teacher, json=body)
        assert resp.status_code == 422 and resp.json()["code"] == code, resp.text

    # Cursor pagination: newest first, no repeats, no gaps.
    seen, cursor = [], None
    while True:
        page = await app.ok("GET", "/api/v1/exams?limit=2" + (f"&cursor={cursor}" if cursor else ""), teacher)
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [adaptive["id"], *[e["id"] for e in reversed(created)]]
    resp = await app.call("GET", "/api/v1/exams?cursor=garbage", teacher)
    assert resp.status_code == 400 and resp.json()["code"] == "request.invalid_cursor"
    filtered = await app.ok("GET", f"/api/v1/exams?class_id={class_a}&kind=fixed", teacher)
    assert {e["title"] for e in filtered["items"]} == {"Quiz 1", "Quiz 3"}
    assert (await app.ok("GET", "/api/v1/exams?q=place", teacher))["items"][0]["id"] == adaptive["id"]

    # Draft -> published (frozen) -> archived.
    await app.ok("PATCH", f"/api/v1/exams/{created[0]['id']}", teacher, json={"item_ids": [items[3]["id"]],
                                                                              "time_limit_seconds": 600})
    pub = await app.ok("POST", f"/api/v1/exams/{created[0]['id']}/publish", teacher)
    assert pub["status"] == "published" and pub["item_ids"] == [items[3]["id"]] and pub["published_at"]
    resp = await app.call("PATCH", f"/api/v1/exams/{created[0]['id']}", teacher, json={"title": "late"})
    assert resp.status_code == 409 and resp.json()["code"] == "exam.not_draft"
    resp = await app.call("DELETE", f"/api/v1/items/{items[3]['id']}", teacher)
    assert resp.status_code == 409 and resp.json()["code"] == "item.in_use"
    assert (await app.ok("GET", "/api/v1/exams", student))["items"][0]["id"] == created[0]["id"]
    empty = await app.ok("POST", "/api/v1/exams", teacher, 201,
                         json={"title": "empty", "kind": "fixed", "item_bank_id": bank["id"]})
    resp = await app.call("POST", f"/api/v1/exams/{empty['id']}/publish", teacher)
    assert resp.status_code == 422 and resp.json()["code"] == "exam.not_publishable"
    bad_bp = await app.ok("POST", "/api/v1/exams", teacher, 201, json={
        "title": "bp", "kind": "adaptive", "item_bank_id": bank["id"], "cat_settings": {"blueprint": {"poetry": 1}}})
    resp = await app.call("POST", f"/api/v1/exams/{bad_bp['id']}/publish", teacher)
    assert resp.status_code == 422 and "poetry" in resp.json()["detail"]
    archived = await app.ok("POST", f"/api/v1/exams/{created[0]['id']}/archive", teacher)
    assert archived["status"] == "archived"
    resp = await app.call("POST", f"/api/v1/exams/{created[0]['id']}/start", student)
    assert resp.status_code == 409 and resp.json()["code"] == "exam.not_published"
    assert [e["exam_id"] for e in outbox(app, "exam.exam.published")] == [created[0]["id"]]


async def test_openapi_documents_every_endpoint_with_examples(exam_app: ExamApp) -> None:
    spec = (await exam_app.client.get("/openapi.json")).json()
    for path, ops in spec["paths"].items():
        if not path.startswith(("/api/v1/exams", "/api/v1/items", "/api/v1/attempts", "/api/v1/students",
                                "/api/v1/analytics")):
            continue
        for method, op in ops.items():
            codes = set(op["responses"])
            assert "403" in codes and "422" in codes, (method, path, codes)
            ok = next(c for c in codes if c.startswith("2"))
            content = op["responses"][ok].get("content", {}).get("application/json", {})
            schema = content.get("schema", {})
            ref = schema.get("$ref", "").rsplit("/", 1)[-1]
            assert ref and spec["components"]["schemas"][ref].get("examples"), (method, path)
