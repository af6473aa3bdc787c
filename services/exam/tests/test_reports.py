"""Student reports without tenant in the loop (parents: see test_e2e_edge; teachers, whose classes
tenant knows: test_teacher_scope): who may read whose report, what it holds, and that another
org's report is empty."""
from __future__ import annotations

from services.exam.tests.conftest import ExamApp, make_bank, make_exam


async def test_student_report_access_and_content(exam_app: ExamApp) -> None:
    app = exam_app
    teacher, student = app.actor("teacher"), app.actor("student")
    bank, items = await make_bank(app, teacher, 4, areas=("algebra", "geometry"))
    exam = await make_exam(app, teacher, bank, items=items)
    att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    for item, answer in zip(items, "BBAB"):
        await app.ok("POST", f"/api/v1/attempts/{att['id']}/responses", student, 201,
                     json={"item_id": item["id"], "answer": answer})
    done = await app.ok("POST", f"/api/v1/attempts/{att['id']}/submit", student)
    second = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)  # in progress

    path = f"/api/v1/students/{student.user_id}/reports"
    own = await app.ok("GET", path, student)
    assert [a["attempt_id"] for a in own["attempts"]] == [second["id"], att["id"]]
    assert own["attempts"][1]["theta"] == done["result"]["theta"] and own["attempts"][0]["theta"] is None
    assert own["summary"] == {"attempts": 2, "completed": 1, "incomplete": 0, "in_progress": 1,
                              "mean_theta": round(done["result"]["theta"], 4),
                              "latest_scaled_score": done["result"]["scaled_score"]}
    assert {a["content_area"]: (a["responses"], a["mean_score"]) for a in own["content_areas"]} == \
        {"algebra": (2, 0.5), "geometry": (2, 1.0)}
    admin = app.actor("org_admin")
    assert (await app.ok("GET", path, admin))["attempts"] == own["attempts"]
    zone_admin = app.actor("zone_admin")
    assert len((await app.ok("GET", f"{path}?org_id={app.org_a}", zone_admin))["attempts"]) == 2
    assert (await app.ok("GET", f"{path}?exam_id={exam['id']}&limit=1", admin))["attempts"][0]["attempt_id"] == \
        second["id"]

    resp = await app.call("GET", path, app.actor("student"))
    assert resp.status_code == 403 and resp.json()["code"] == "report.not_yours"
    resp = await app.call("GET", path, app.actor("guest"))
    assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"
    b_report = await app.ok("GET", path, app.actor("org_admin", app.org_b))
    assert b_report["attempts"] == [] and b_report["content_areas"] == [] and b_report["summary"]["attempts"] == 0
