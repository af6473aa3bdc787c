"""The member list carries each member's name and email from auth (issue #13), for authorised
readers only: admins see every member, a teacher only the students of its assigned classes."""
from __future__ import annotations


async def test_member_list_has_names_and_emails_and_teacher_sees_its_students(tenant) -> None:
    org = await tenant.make_org(1)
    admin_id = tenant.auth.add(1, "admin@example.com", "Lee Admin")
    admin = tenant.actor(1, "org_admin", org, user_id=admin_id)
    await tenant.add_member(1, org, admin_id, "org_admin")
    teacher_id = tenant.auth.add(1, "kim.teacher@example.com", "Kim Teacher")
    teacher = tenant.actor(1, "teacher", org, user_id=teacher_id)
    await tenant.add_member(1, org, teacher_id, "teacher")
    pupils = [tenant.auth.add(1, f"pupil{i}@example.com", f"Pupil {i}") for i in range(2)]
    h = admin.headers
    classes = []
    for i, pupil in enumerate(pupils):
        await tenant.add_member(1, org, pupil, "student")
        klass = (await tenant.client.post("/api/v1/classes", json={"grade": 3, "name": f"3-{i}"}, headers=h)).json()["id"]
        classes.append(klass)
        resp = await tenant.client.post("/api/v1/rosters/students", headers=h, json={
            "name": f"Pupil {i}", "grade": 3, "parent_phone": "010-1000-2000", "class_id": klass,
            "email": f"pupil{i}@example.com"})
        assert resp.status_code == 201, resp.text
        await tenant.sql("UPDATE tenant.students SET user_id = :u WHERE id = CAST(:id AS uuid)", u=pupil,
                         id=resp.json()["id"])
    base = f"/api/v1/orgs/{org}/members"

    resp = await tenant.client.get(base, headers=h)
    assert resp.status_code == 200, resp.text
    by_user = {m["user_id"]: (m["role"], m["name"], m["email"]) for m in resp.json()["items"]}
    assert by_user == {str(admin_id): ("org_admin", "Lee Admin", "admin@example.com"),
                       str(teacher_id): ("teacher", "Kim Teacher", "kim.teacher@example.com"),
                       str(pupils[0]): ("student", "Pupil 0", "pupil0@example.com"),
                       str(pupils[1]): ("student", "Pupil 1", "pupil1@example.com")}
    # Cursor pages keep the names.
    first = (await tenant.client.get(base, params={"limit": 3}, headers=h)).json()
    rest = (await tenant.client.get(base, params={"limit": 3, "cursor": first["next_cursor"]}, headers=h)).json()
    assert len(first["items"]) == 3 and len(rest["items"]) == 1 and rest["items"][0]["name"]

    # A teacher sees only the students of its classes: none before an assignment.
    resp = await tenant.client.get(base, headers=teacher.headers)
    assert resp.status_code == 200 and resp.json()["items"] == [] and resp.json()["total"] == 0
    assert (await tenant.client.put(f"/api/v1/classes/{classes[1]}/teachers/{teacher_id}", headers=h)).status_code == 201
    resp = await tenant.client.get(base, headers=teacher.headers)
    assert [(m["user_id"], m["name"], m["email"]) for m in resp.json()["items"]] == [
        (str(pupils[1]), "Pupil 1", "pupil1@example.com")]

    # Students, parents and other orgs read nothing.
    for role in ("student", "parent"):
        resp = await tenant.client.get(base, headers=tenant.actor(1, role, org).headers)
        assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"
    other = await tenant.make_org(1)
    resp = await tenant.client.get(base, headers=tenant.actor(1, "org_admin", other).headers)
    assert resp.status_code == 404 and resp.json()["code"] == "org.not_found"
    resp = await tenant.client.get(base, params={"q": "Pupil"}, headers=h)
    assert resp.status_code == 400 and resp.json()["code"] == "request.unknown_parameter"


async def test_member_list_is_503_when_auth_is_down(tenant) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    tenant.runtime.resources._channels.clear()
    tenant.runtime.resources.settings.grpc_peers["auth"] = "127.0.0.1:1"
    resp = await tenant.client.get(f"/api/v1/orgs/{org}/members", headers=admin.headers)
    assert resp.status_code == 503 and resp.json()["code"] == "dependency.auth_unavailable"
