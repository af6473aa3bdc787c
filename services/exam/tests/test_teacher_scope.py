"""A teacher's view scoped to its classes, with the real tenant service in the loop (classes,
rosters and teacher assignments made through tenant's API, as in test_attempt_lists, which covers
the attempt list): the dashboard counts only attempts of the teacher's classes and 404s another
class; a student's report is the teacher's only for a student on one of its class rosters; tenant
down is 503. Org and zone admins see the whole org."""
from __future__ import annotations

import uuid

from services.exam.tests.conftest import ExamApp, make_bank, make_exam
from services.exam.tests.test_attempt_lists import Stack, _school, stack  # noqa: F401 - the fixture

DASH = "/api/v1/analytics/dashboard"


async def _take(app: ExamApp, exam: dict, user_id: uuid.UUID | None, right: list[bool]) -> str:
    student = app.actor("student", app.org_a, user_id=user_id)
    att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    for item_id, ok in zip(exam["item_ids"], right):
        await app.ok("POST", f"/api/v1/attempts/{att['id']}/responses", student, 201,
                     json={"item_id": item_id, "answer": "B" if ok else "A"})
    await app.ok("POST", f"/api/v1/attempts/{att['id']}/submit", student)
    return str(att["id"])


def _seen(dash: dict) -> tuple[int, set[str | None], set[str], set[str]]:
    return (dash["totals"]["attempts"], {c["class_id"] for c in dash["classes"]},
            {e["exam_id"] for e in dash["exams"]}, {i["item_id"] for i in dash["items"]})


async def test_teacher_dashboard_counts_only_assigned_classes(stack: Stack) -> None:  # noqa: F811
    app = stack.exam
    org, admin, teacher, class_a, class_b, users, exam_a, tenant_ok = await _school(stack)
    # 7-A's exam (3 items) taken by Ahn and Baek; 7-B's exam (2 items of another bank) by Eom.
    bank_b, items_b = await make_bank(app, teacher, 2, name="Geometry")
    exam_b = await make_exam(app, teacher, bank_b, items=items_b, class_id=class_b)
    await _take(app, exam_a, users["Ahn"], [True, True, False])
    await _take(app, exam_a, users["Baek"], [True, False, False])
    await _take(app, exam_b, users["Eom"], [True, False])
    whole = (3, {class_a, class_b}, {exam_a["id"], exam_b["id"]}, set(exam_a["item_ids"]) | set(exam_b["item_ids"]))

    # Not assigned to any class yet: the teacher sees nothing, though the org has attempts.
    empty = await app.ok("GET", DASH, teacher)
    assert _seen(empty) == (0, set(), set(), set()) and empty["totals"]["students"] == 0
    await tenant_ok("PUT", f"/api/v1/classes/{class_a}/teachers/{teacher.user_id}", 201)

    mine = await app.ok("GET", DASH, teacher)
    assert _seen(mine) == (2, {class_a}, {exam_a["id"]}, set(exam_a["item_ids"]))
    assert (mine["totals"]["completed"], mine["totals"]["students"]) == (2, 2)
    assert mine["classes"][0]["scored"] == 2 and all(i["responses"] == 2 for i in mine["items"])
    assert _seen(await app.ok("GET", DASH, teacher, params={"class_id": class_a})) == _seen(mine)
    # 7-B's exam through exam_id: its attempts are in 7-B, so none of them count.
    assert _seen(await app.ok("GET", DASH, teacher, params={"exam_id": exam_b["id"]})) == (0, set(), set(), set())
    for other in (class_b, str(uuid.uuid4())):  # a class not the teacher's, a class of no one: alike
        resp = await app.call("GET", DASH, teacher, params={"class_id": other})
        assert resp.status_code == 404 and resp.json()["code"] == "class.not_found", resp.text

    # Org admins and zone admins (naming the org) are not scoped: both classes.
    assert _seen(await app.ok("GET", DASH, admin)) == whole
    zone_admin = app.actor("zone_admin")
    assert _seen(await app.ok("GET", DASH, zone_admin, params={"org_id": str(org)})) == whole
    b_only = await app.ok("GET", DASH, admin, params={"class_id": class_b})
    assert _seen(b_only) == (1, {class_b}, {exam_b["id"]}, set(exam_b["item_ids"]))

    # A second assignment widens the teacher's view; an unassignment narrows it at once.
    await tenant_ok("PUT", f"/api/v1/classes/{class_b}/teachers/{teacher.user_id}", 201)
    assert _seen(await app.ok("GET", DASH, teacher)) == whole
    await tenant_ok("DELETE", f"/api/v1/classes/{class_a}/teachers/{teacher.user_id}", 204)
    assert _seen(await app.ok("GET", DASH, teacher))[:2] == (1, {class_b})

    # Tenant down: the teacher's dashboard is 503; an org admin's does not need tenant.
    res = app.runtime.resources
    res.settings.grpc_peers["tenant"] = "127.0.0.1:1"
    res._channels.pop("tenant", None)
    resp = await app.call("GET", DASH, teacher)
    assert resp.status_code == 503 and resp.json()["code"] == "dependency.tenant_unavailable", resp.text
    assert _seen(await app.ok("GET", DASH, admin)) == whole


async def test_teacher_reads_reports_of_its_classes_students_only(stack: Stack) -> None:  # noqa: F811
    """Reports and single attempts alike: a teacher reads those of the students on its classes'
    rosters."""
    app = stack.exam
    org, admin, teacher, class_a, class_b, users, exam_a, tenant_ok = await _school(stack)
    ahn_attempt = await _take(app, exam_a, users["Ahn"], [True, False, True])
    eom_attempt = await _take(app, exam_a, users["Eom"], [True, True, True])  # Eom is in 7-B, though 7-A's exam

    async def attempt_status(attempt_id: str) -> int:
        return (await app.call("GET", f"/api/v1/attempts/{attempt_id}", teacher)).status_code

    def path(name: str) -> str:
        return f"/api/v1/students/{users[name]}/reports"

    async def refused(name: str) -> None:
        resp = await app.call("GET", path(name), teacher)
        assert resp.status_code == 403 and resp.json()["code"] == "report.not_yours", resp.text

    await refused("Ahn")  # no class yet
    assert await attempt_status(ahn_attempt) == 404
    await tenant_ok("PUT", f"/api/v1/classes/{class_a}/teachers/{teacher.user_id}", 201)
    ahn = await app.ok("GET", path("Ahn"), teacher)
    assert ahn["summary"]["completed"] == 1 and ahn == await app.ok("GET", path("Ahn"), admin)
    await refused("Eom")  # on 7-B's roster: not the teacher's student, whichever exam it took
    assert (await attempt_status(ahn_attempt), await attempt_status(eom_attempt)) == (200, 404)
    resp = await app.call("GET", f"/api/v1/students/{uuid.uuid4()}/reports", teacher)  # on no roster at all
    assert resp.status_code == 403 and resp.json()["code"] == "report.not_yours", resp.text
    # Admins are not scoped; an assignment to 7-B opens Eom's report, an unassignment closes Ahn's.
    assert (await app.ok("GET", path("Eom"), admin))["summary"]["completed"] == 1
    zone_admin = app.actor("zone_admin")
    assert (await app.ok("GET", path("Eom"), zone_admin, params={"org_id": str(org)}))["summary"]["completed"] == 1
    await tenant_ok("PUT", f"/api/v1/classes/{class_b}/teachers/{teacher.user_id}", 201)
    assert (await app.ok("GET", path("Eom"), teacher))["summary"]["completed"] == 1
    await tenant_ok("DELETE", f"/api/v1/classes/{class_a}/teachers/{teacher.user_id}", 204)
    await refused("Ahn")
    assert (await attempt_status(ahn_attempt), await attempt_status(eom_attempt)) == (404, 200)

    res = app.runtime.resources
    res.settings.grpc_peers["tenant"] = "127.0.0.1:1"
    res._channels.pop("tenant", None)
    resp = await app.call("GET", path("Eom"), teacher)
    assert resp.status_code == 503 and resp.json()["code"] == "dependency.tenant_unavailable", resp.text
    assert (await app.ok("GET", path("Eom"), admin))["summary"]["completed"] == 1

