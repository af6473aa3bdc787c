"""Platform audit (issue #17 §4) from exam: publishing and archiving an exam and every item bank
change (bank create/update, item create/update/retire, import) done through the real HTTP API
leave one `audit.exam.*` event in exam's own outbox with actor, org, target, before/after."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from megacity.testing import audit_actor, outbox_audits
from services.exam.tests.conftest import make_bank


@pytest.fixture
async def audits(span_exporter, exam_app) -> AsyncIterator:
    async with outbox_audits(exam_app.db, "exam", 1) as read:
        yield read


async def test_item_bank_changes_are_audited(audits, exam_app) -> None:
    teacher = exam_app.actor("teacher")
    bank, items = await make_bank(exam_app, teacher, 2)
    [created] = await audits("exam.item_bank.created")
    assert created["actor"] == audit_actor(teacher) and created["org_id"] == exam_app.org_a
    assert created["target"] == {"type": "item_bank", "id": bank["id"]} and created["after"]["name"] == "Algebra"

    item_events = await audits("exam.item_bank.item_created")
    assert [e["after"]["item_ids"] for e in item_events] == [[i["id"]] for i in items]
    assert [e["after"]["version"] for e in item_events] == [e["before"]["version"] + 1 for e in item_events]

    await exam_app.ok("PATCH", f"/api/v1/items/{items[0]['id']}", teacher, json={"b": 0.9})
    [updated] = await audits("exam.item_bank.item_updated")
    assert updated["target"]["id"] == bank["id"] and updated["after"]["item_ids"] == [items[0]["id"]]
    await exam_app.ok("DELETE", f"/api/v1/items/{items[1]['id']}", teacher)
    [retired] = await audits("exam.item_bank.item_retired")
    assert retired["actor"] == audit_actor(teacher) and retired["after"]["item_ids"] == [items[1]["id"]]

    admin = exam_app.actor("org_admin")
    await exam_app.ok("PATCH", f"/api/v1/items/banks/{bank['id']}", admin, json={"name": "Algebra II"})
    [renamed] = await audits("exam.item_bank.updated")
    assert renamed["actor"] == audit_actor(admin)
    assert (renamed["before"], renamed["after"]) == ({"name": "Algebra"}, {"name": "Algebra II"})

    # A refused change (a duplicate bank name) leaves no audit record.
    dup = await exam_app.call("POST", "/api/v1/items/banks", teacher, json={"name": "Algebra II"})
    assert dup.status_code == 409
    assert len(await audits("exam.item_bank.created")) == 1


async def test_long_korean_bank_description_is_audited_not_refused(audits, exam_app) -> None:
    """A 700-character Korean description (4,200 bytes as JSON escapes) used to fail the change
    with a 500; the audit records only that the description changed."""
    admin = exam_app.actor("org_admin")
    bank = await exam_app.ok("POST", "/api/v1/items/banks", exam_app.actor("teacher"), 201,
                             json={"name": "국어 문항 은행", "description": "가나다라마바사" * 100})
    [created] = await audits("exam.item_bank.created")
    assert created["after"] == {"name": "국어 문항 은행", "scaling_constant": 1.0}
    await exam_app.ok("PATCH", f"/api/v1/items/banks/{bank['id']}", admin,
                      json={"name": "국어 문항 은행 " + "나" * 180, "description": "새 설명입니다" * 100})
    [updated] = await audits("exam.item_bank.updated")
    assert updated["before"] == {"name": "국어 문항 은행", "description_changed": True}
    assert updated["after"] == {"name": "국어 문항 은행 " + "나" * 180, "description_changed": True}


async def test_exam_publish_and_archive_are_audited(audits, exam_app) -> None:
    teacher = exam_app.actor("teacher")
    bank, items = await make_bank(exam_app, teacher, 3)
    exam = await exam_app.ok("POST", "/api/v1/exams", teacher, 201, json={
        "title": "Unit test", "kind": "fixed", "item_bank_id": bank["id"], "item_ids": [i["id"] for i in items]})
    await exam_app.ok("POST", f"/api/v1/exams/{exam['id']}/publish", teacher)
    [published] = await audits("exam.exam.published")
    assert published["actor"] == audit_actor(teacher) and published["target"] == {"type": "exam", "id": exam["id"]}
    assert published["before"] == {"status": "draft"} and published["after"]["status"] == "published"
    await exam_app.ok("POST", f"/api/v1/exams/{exam['id']}/publish", teacher)  # idempotent: no second record
    assert len(await audits("exam.exam.published")) == 1
    await exam_app.ok("POST", f"/api/v1/exams/{exam['id']}/archive", teacher)
    [archived] = await audits("exam.exam.archived")
    assert archived["before"] == {"status": "published"} and archived["after"]["status"] == "archived"


async def test_item_import_and_scaling_constant_are_audited(audits, exam_app) -> None:
    from services.exam.tests.test_item_import import GOOD, HEADER

    teacher = exam_app.actor("teacher")
    bank = await exam_app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Imported"})
    resp = await exam_app.call("POST", f"/api/v1/items/imports?bank_id={bank['id']}&mode=valid_rows", teacher,
                               files={"file": ("items.csv", (HEADER + GOOD).encode())})
    assert resp.status_code == 201, resp.text
    [imported] = await audits("exam.item_bank.items_imported")
    assert imported["actor"] == audit_actor(teacher) and imported["target"] == {"type": "item_bank", "id": bank["id"]}
    assert imported["after"]["items_changed"] == resp.json()["created_rows"] > 0
    await exam_app.ok("PATCH", f"/api/v1/items/banks/{bank['id']}", teacher, json={"scaling_constant": 1.5})
    [updated] = await audits("exam.item_bank.updated")  # one record for the change (and its version bump)
    assert updated["before"] == {"scaling_constant": bank["scaling_constant"]}
    assert updated["after"] == {"scaling_constant": 1.5}
    assert await audits("exam.item_bank.bank_scaling_constant") == []
