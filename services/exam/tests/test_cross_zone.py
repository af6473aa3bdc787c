"""Issue #9's rule in exam: a request's zone bounds every role, super admins included. A super
admin or zone admin of zone 1, on zone 1's host, naming zone 2's ids gets 403/404 and changes
nothing; zone 2's super admin, on zone 2's host, reads the same ids."""
from __future__ import annotations

import pytest

from services.exam.tests.conftest import ExamApp, make_bank, make_exam

TABLES = ("item_banks", "items", "exams", "attempts", "responses")


async def _snapshot(app: ExamApp) -> list:
    """Every row of every table, and the outbox's ids (the relay stamps rows as it publishes)."""
    rows = [await app.db.sql(f"SELECT * FROM exam.{t} ORDER BY 1") for t in TABLES]
    return [*rows, await app.db.sql("SELECT id FROM exam.outbox ORDER BY id")]


@pytest.mark.parametrize("role", ["super_admin", "zone_admin"])
async def test_admin_of_another_zone_names_zone_two_ids(exam_app: ExamApp, role: str) -> None:
    app = exam_app
    teacher = app.actor("teacher", zone_id=2)
    bank, items = await make_bank(app, teacher, 3)
    exam = await make_exam(app, teacher, bank, items=items)
    attempt = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", app.actor("student", zone_id=2), 201)
    q = f"?org_id={app.org_a}"
    reads = [f"/api/v1/exams/{exam['id']}{q}", f"/api/v1/items/{items[0]['id']}{q}",
             f"/api/v1/items/banks/{bank['id']}{q}", f"/api/v1/attempts/{attempt['id']}{q}"]
    writes = [("PATCH", f"/api/v1/exams/{exam['id']}{q}", {"json": {"title": "pwned"}}),
              ("POST", f"/api/v1/exams/{exam['id']}/archive{q}", {}),
              ("PATCH", f"/api/v1/items/{items[0]['id']}{q}", {"json": {"stem": "pwned"}}),
              ("DELETE", f"/api/v1/items/{items[1]['id']}{q}", {}),
              ("PATCH", f"/api/v1/items/banks/{bank['id']}{q}", {"json": {"name": "pwned"}})]
    before = await _snapshot(app)
    outsider = app.actor(role, zone_id=1)
    for path in reads:
        resp = await app.call("GET", path, outsider)
        assert resp.status_code in (403, 404), (path, resp.status_code, resp.text)
    for method, path, kw in writes:
        resp = await app.call(method, path, outsider, **kw)
        assert resp.status_code in (403, 404), (method, path, resp.status_code, resp.text)
    listed = await app.call("GET", f"/api/v1/exams{q}", outsider)
    assert listed.status_code in (403, 404) or all(e["id"] != exam["id"] for e in listed.json()["items"])
    assert await _snapshot(app) == before
    insider = app.actor("super_admin", zone_id=2)
    for path in reads:
        resp = await app.call("GET", path, insider)
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
