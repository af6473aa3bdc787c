"""Parent–student links: request by email, student/admin decision, revocation, and the
CheckParentLink gRPC that other services (exam reports) rely on."""
from __future__ import annotations

import grpc

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc


async def _check(tenant, org, parent, student) -> tenant_pb2.ParentLinkStatus:
    async with grpc.aio.insecure_channel(tenant.grpc_target) as ch:
        return await tenant_pb2_grpc.TenantServiceStub(ch).CheckParentLink(tenant_pb2.CheckParentLinkRequest(
            zone_id=1, org_id=str(org), parent_user_id=str(parent), student_id=str(student)))


async def test_parent_link_flow(tenant) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    s_user = tenant.auth.add(1, "minji@example.com")
    other_student = tenant.actor(1, "student", org)
    teacher_user = tenant.auth.add(1, "teacher@example.com")
    # The roster record exists first; adding the student member links it by email.
    rec = (await tenant.client.post("/api/v1/rosters/students", headers=admin.headers, json={
        "name": "Kim Minji", "grade": 10, "parent_phone": "010-1234-5678", "email": "Minji@Example.com"})).json()
    for user, role in ((s_user, "student"), (teacher_user, "teacher")):
        resp = await tenant.client.post(f"/api/v1/orgs/{org}/members", headers=admin.headers,
                                        json={"user_id": str(user), "role": role})
        assert resp.status_code == 201, resp.text
    assert (await tenant.sql("SELECT user_id FROM tenant.students WHERE id = :i", i=rec["id"]))[0].user_id == s_user
    student = tenant.actor(1, "student", org, user_id=s_user)
    parent = tenant.actor(1, "parent", org)
    teacher = tenant.actor(1, "teacher", org, user_id=teacher_user)
    links = "/api/v1/parent-links"

    for email, code in (("nobody@example.com", "parent_link.student_not_found"),
                        ("teacher@example.com", "parent_link.student_not_found")):
        resp = await tenant.client.post(links, json={"student_email": email}, headers=parent.headers)
        assert resp.status_code == 404 and resp.json()["code"] == code
    resp = await tenant.client.post(links, json={"student_email": "minji@example.com"}, headers=teacher.headers)
    assert resp.status_code == 403 and resp.json()["code"] == "parent_link.parent_only"
    resp = await tenant.client.post(links, json={"student_email": "MINJI@example.com"}, headers=parent.headers)
    assert resp.status_code == 201, resp.text
    link = resp.json()
    assert link["status"] == "pending" and link["student_id"] == rec["id"] and link["student_user_id"] == str(s_user)
    resp = await tenant.client.post(links, json={"student_email": "minji@example.com"}, headers=parent.headers)
    assert resp.status_code == 409 and resp.json()["code"] == "parent_link.exists"
    resp = await tenant.client.post(links, json={"student_email": "not an email"}, headers=parent.headers)
    assert resp.status_code == 422

    # Pending does not count.
    status = await _check(tenant, org, parent.user_id, s_user)
    assert (status.approved, status.status, status.link_id) == (False, "pending", link["id"])
    assert (await tenant.client.get("/api/v1/rosters/students", headers=parent.headers)).json()["items"] == []
    assert (await tenant.client.get(f"/api/v1/rosters/students/{rec['id']}", headers=parent.headers)).status_code == 404

    # Only the student (or an org admin) decides.
    resp = await tenant.client.post(f"{links}/{link['id']}/approve", headers=parent.headers)
    assert resp.status_code == 403
    resp = await tenant.client.post(f"{links}/{link['id']}/approve", headers=other_student.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "parent_link.not_found"
    resp = await tenant.client.post(f"{links}/{link['id']}/approve", headers=teacher.headers)
    assert resp.status_code == 403
    assert [i["id"] for i in (await tenant.client.get(links, headers=student.headers)).json()["items"]] == [link["id"]]
    assert (await tenant.client.get(links, headers=other_student.headers)).json()["items"] == []
    assert (await tenant.client.get(links, headers=teacher.headers)).json()["code"] == "parent_link.forbidden"
    resp = await tenant.client.post(f"{links}/{link['id']}/approve", headers=student.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "approved"
    assert resp.json()["decided_by"] == str(s_user)
    resp = await tenant.client.post(f"{links}/{link['id']}/reject", headers=student.headers)
    assert resp.status_code == 409 and resp.json()["code"] == "parent_link.not_pending"

    # Approved: the parent reads its child, by user id and roster id; another parent does not.
    for sid in (s_user, rec["id"]):
        status = await _check(tenant, org, parent.user_id, sid)
        assert (status.approved, status.status) == (True, "approved")
    assert not (await _check(tenant, org, tenant.actor(1, "parent", org).user_id, s_user)).approved
    assert (await _check(tenant, await tenant.make_org(1), parent.user_id, s_user)).status == "none"
    items = (await tenant.client.get("/api/v1/rosters/students", headers=parent.headers)).json()["items"]
    assert [i["id"] for i in items] == [rec["id"]]
    assert (await tenant.client.get(f"/api/v1/rosters/students/{rec['id']}", headers=parent.headers)).status_code == 200

    # Revoked: gone again.
    resp = await tenant.client.post(f"{links}/{link['id']}/revoke", headers=parent.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "revoked"
    status = await _check(tenant, org, parent.user_id, s_user)
    assert (status.approved, status.status) == (False, "revoked")
    assert (await tenant.client.get("/api/v1/rosters/students", headers=parent.headers)).json()["items"] == []
    resp = await tenant.client.post(f"{links}/{link['id']}/revoke", headers=student.headers)
    assert resp.status_code == 409 and resp.json()["code"] == "parent_link.not_open"

    # A new request may follow a closed one; an org admin rejects it.
    second = (await tenant.client.post(links, json={"student_email": "minji@example.com"}, headers=parent.headers)).json()
    resp = await tenant.client.post(f"{links}/{second['id']}/reject", headers=admin.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "rejected"
    assert len((await tenant.client.get(links, headers=admin.headers)).json()["items"]) == 2

    events = [r.event_type for r in await tenant.sql(
        "SELECT event_type FROM tenant.outbox WHERE event_type LIKE 'parent_link.%' ORDER BY id")]
    assert events == ["parent_link.requested", "parent_link.approved", "parent_link.revoked",
                      "parent_link.requested", "parent_link.rejected"]

    async with grpc.aio.insecure_channel(tenant.grpc_target) as ch:
        try:
            await tenant_pb2_grpc.TenantServiceStub(ch).CheckParentLink(tenant_pb2.CheckParentLinkRequest(
                zone_id=1, org_id="x", parent_user_id=str(parent.user_id), student_id=str(s_user)))
            raise AssertionError("expected INVALID_ARGUMENT")
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
