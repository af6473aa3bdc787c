"""Classes, students, teachers and parents records over HTTP; 4xx codes for bad input; OpenAPI."""
from __future__ import annotations


async def test_classes_and_students(tenant) -> None:
    org = await tenant.make_org(1)
    h = tenant.actor(1, "org_admin", org).headers
    c = tenant.client
    klass = (await c.post("/api/v1/classes", json={"grade": 10, "name": " 10-A "}, headers=h)).json()
    assert klass["name"] == "10-A" and klass["student_count"] == 0
    resp = await c.post("/api/v1/classes", json={"grade": 10, "name": "10-A"}, headers=h)
    assert resp.status_code == 409 and resp.json()["code"] == "class.exists"
    other = (await c.post("/api/v1/classes", json={"grade": 10, "name": "10-B"}, headers=h)).json()
    resp = await c.patch(f"/api/v1/classes/{other['id']}", json={"name": "10-A"}, headers=h)
    assert resp.status_code == 409 and resp.json()["code"] == "class.exists"
    resp = await c.post("/api/v1/classes", json={"grade": 0, "name": "x"}, headers=h)
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"

    body = {"name": "Kim  Minji", "grade": 10, "parent_phone": "010-1234-5678", "class_id": klass["id"]}
    student = (await c.post("/api/v1/rosters/students", json=body, headers=h)).json()
    assert (student["name"], student["parent_phone"], student["class_name"]) == ("Kim Minji", "01012345678", "10-A")
    resp = await c.post("/api/v1/rosters/students", json={**body, "parent_phone": "01012345678"}, headers=h)
    assert resp.status_code == 409 and resp.json()["code"] == "student.exists"
    resp = await c.post("/api/v1/rosters/students", json={**body, "parent_phone": "call me"}, headers=h)
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"][-1] == "parent_phone"
    resp = await c.post("/api/v1/rosters/students", headers=h, json={
        **body, "name": "Other", "class_id": "00000000-0000-0000-0000-000000000000"})
    assert resp.status_code == 422 and resp.json()["code"] == "class.not_found"
    assert (await c.get(f"/api/v1/classes/{klass['id']}", headers=h)).json()["student_count"] == 1

    resp = await c.patch(f"/api/v1/rosters/students/{student['id']}", json={"grade": 11, "class_id": None}, headers=h)
    assert resp.status_code == 200 and (resp.json()["grade"], resp.json()["class_id"]) == (11, None)
    resp = await c.patch(f"/api/v1/rosters/students/{student['id']}", json={"name": None}, headers=h)
    assert resp.status_code == 400 and resp.json()["code"] == "student.invalid"
    listed = (await c.get("/api/v1/rosters/students?grade=11&name=Kim", headers=h)).json()
    assert listed["total"] == 1
    assert (await c.get("/api/v1/rosters/students?name=%25", headers=h)).json()["total"] == 0

    # Deleting a class keeps its students, classless.
    await c.patch(f"/api/v1/rosters/students/{student['id']}", json={"class_id": klass["id"]}, headers=h)
    assert (await c.delete(f"/api/v1/classes/{klass['id']}", headers=h)).status_code == 204
    assert (await c.get(f"/api/v1/rosters/students/{student['id']}", headers=h)).json()["class_id"] is None
    # Soft delete: gone from the API, kept in the table, and the key is free again.
    assert (await c.delete(f"/api/v1/rosters/students/{student['id']}", headers=h)).status_code == 204
    resp = await c.get(f"/api/v1/rosters/students/{student['id']}", headers=h)
    assert resp.status_code == 404 and resp.json()["code"] == "student.not_found"
    assert (await c.delete(f"/api/v1/rosters/students/{student['id']}", headers=h)).status_code == 404
    assert len(await tenant.sql("SELECT 1 FROM tenant.students WHERE deleted_at IS NOT NULL")) == 1
    assert (await c.post("/api/v1/rosters/students", json={**body, "class_id": None}, headers=h)).status_code == 201


async def test_teachers_and_parents(tenant) -> None:
    org = await tenant.make_org(1)
    h = tenant.actor(1, "org_admin", org).headers
    for table in ("teachers", "parents"):
        base = f"/api/v1/rosters/{table}"
        person = (await tenant.client.post(base, json={"name": "Park", "email": "P@Example.com"}, headers=h)).json()
        assert person["email"] == "p@example.com"
        resp = await tenant.client.patch(f"{base}/{person['id']}", json={"phone": "+82 10 1234 5678"}, headers=h)
        assert resp.json()["phone"] == "+821012345678"
        resp = await tenant.client.post(base, json={"name": "X", "email": "nope"}, headers=h)
        assert resp.status_code == 422
        assert (await tenant.client.get(base, headers=h)).json()["total"] == 1
        assert (await tenant.client.delete(f"{base}/{person['id']}", headers=h)).status_code == 204
        resp = await tenant.client.get(f"{base}/{person['id']}", headers=h)
        assert resp.status_code == 404 and resp.json()["code"] == f"{table[:-1]}.not_found"


async def test_zone_admin_must_name_the_org(tenant) -> None:
    org = await tenant.make_org(1)
    za = tenant.actor(1, "zone_admin").headers
    resp = await tenant.client.get("/api/v1/rosters/students", headers=za)
    assert resp.status_code == 400 and resp.json()["code"] == "org.required"
    assert (await tenant.client.get(f"/api/v1/rosters/students?org_id={org}", headers=za)).status_code == 200
    resp = await tenant.client.get("/api/v1/rosters/students?org_id=not-a-uuid", headers=za)
    assert resp.status_code == 422


async def test_suspended_org_takes_no_new_records(tenant) -> None:
    org = await tenant.make_org(1)
    await tenant.sql("UPDATE tenant.orgs SET status = 'suspended' WHERE id = :o", o=org)
    h = tenant.actor(1, "org_admin", org).headers
    resp = await tenant.client.post("/api/v1/classes", json={"grade": 1, "name": "1-A"}, headers=h)
    assert resp.status_code == 409 and resp.json()["code"] == "org.not_active"


def _problem_codes(op: dict, status: str) -> set[str]:
    """The error codes documented under one status: one `example`, or several named `examples`."""
    content = op["responses"][status]["content"]["application/problem+json"]
    if "example" in content:
        return {content["example"]["code"]}
    return {named["value"]["code"] for named in content["examples"].values()}


def test_openapi_documents_every_endpoint_with_examples_and_problems() -> None:
    from services.tenant.main import build
    from services.tenant.settings import Settings

    spec = build(Settings(environment="test")).app.openapi()
    schemas = spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/jobs"):
            continue
        for method, op in methods.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            codes = set(op["responses"])
            assert "422" in codes, where
            assert "request.invalid" in _problem_codes(op, "422"), where
            if path != "/api/v1/zone":
                assert {"401", "403"} <= codes, where
                assert "auth.token_missing" in _problem_codes(op, "401"), where
                assert "auth.permission_denied" in _problem_codes(op, "403"), where
            ok = next(c for c in codes if c.startswith("2"))
            content = op["responses"][ok].get("content", {}).get("application/json")
            if content:
                ref = content["schema"].get("$ref", "").rsplit("/", 1)[-1]
                assert ref and schemas[ref].get("examples"), where
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
                assert schemas[ref].get("examples"), where
