"""Teacher ↔ class assignment (issue #13): org admins assign and unassign, a teacher reads only
its assigned classes and their roster, other services ask over gRPC; RLS keeps the assignment
table per org; unknown query parameters are refused."""
from __future__ import annotations

import uuid

import grpc
import pytest
import sqlalchemy.exc
from sqlalchemy import text

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction


async def _school(tenant):
    """An org with an admin, two classes with one student each, and a teacher member."""
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    teacher = tenant.actor(1, "teacher", org)
    await tenant.add_member(1, org, teacher.user_id, "teacher")
    h = admin.headers
    classes, students = [], []
    for name in ("5-A", "5-B"):
        resp = await tenant.client.post("/api/v1/classes", json={"grade": 5, "name": name}, headers=h)
        assert resp.status_code == 201, resp.text
        classes.append(resp.json()["id"])
        resp = await tenant.client.post("/api/v1/rosters/students", headers=h, json={
            "name": f"Pupil {name}", "grade": 5, "parent_phone": "010-1000-2000", "class_id": classes[-1]})
        assert resp.status_code == 201, resp.text
        students.append(resp.json()["id"])
    return org, admin, teacher, classes, students


async def test_assign_and_teacher_sees_only_assigned_classes(tenant) -> None:
    org, admin, teacher, (a, b), (sa, sb) = await _school(tenant)
    base = f"/api/v1/classes/{a}/teachers/{teacher.user_id}"

    # Before any assignment a teacher sees no class and no student.
    resp = await tenant.client.get("/api/v1/classes", headers=teacher.headers)
    assert resp.status_code == 200 and resp.json()["items"] == []
    assert (await tenant.client.get("/api/v1/rosters/students", headers=teacher.headers)).json()["total"] == 0

    resp = await tenant.client.put(base, headers=admin.headers)
    assert resp.status_code == 201, resp.text
    assert [t["teacher_user_id"] for t in resp.json()["items"]] == [str(teacher.user_id)]
    resp = await tenant.client.put(base, headers=admin.headers)  # idempotent
    assert resp.status_code == 200 and len(resp.json()["items"]) == 1

    resp = await tenant.client.get("/api/v1/classes", headers=teacher.headers)
    assert [c["id"] for c in resp.json()["items"]] == [a]
    assert (await tenant.client.get(f"/api/v1/classes/{a}", headers=teacher.headers)).status_code == 200
    resp = await tenant.client.get(f"/api/v1/classes/{b}", headers=teacher.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "class.not_found"
    resp = await tenant.client.get(f"/api/v1/classes/{a}/teachers", headers=teacher.headers)
    assert resp.status_code == 200 and len(resp.json()["items"]) == 1
    assert (await tenant.client.get(f"/api/v1/classes/{b}/teachers", headers=teacher.headers)).status_code == 404

    roster = (await tenant.client.get("/api/v1/rosters/students", headers=teacher.headers)).json()
    assert [s["id"] for s in roster["items"]] == [sa] and roster["total"] == 1
    assert (await tenant.client.get(f"/api/v1/rosters/students/{sa}", headers=teacher.headers)).status_code == 200
    resp = await tenant.client.get(f"/api/v1/rosters/students/{sb}", headers=teacher.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "student.not_found"
    # The org admin still sees everything.
    assert (await tenant.client.get("/api/v1/rosters/students", headers=admin.headers)).json()["total"] == 2
    assert len((await tenant.client.get("/api/v1/classes", headers=admin.headers)).json()["items"]) == 2

    # Unassign: the teacher loses the class.
    assert (await tenant.client.delete(base, headers=admin.headers)).status_code == 204
    resp = await tenant.client.delete(base, headers=admin.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "class.teacher_not_assigned"
    assert (await tenant.client.get("/api/v1/classes", headers=teacher.headers)).json()["items"] == []


async def test_assignment_rules_and_who_may(tenant) -> None:
    org, admin, teacher, (a, _b), _ = await _school(tenant)
    student = tenant.actor(1, "student", org)
    await tenant.add_member(1, org, student.user_id, "student")
    # Only teacher members of the org can be assigned.
    resp = await tenant.client.put(f"/api/v1/classes/{a}/teachers/{student.user_id}", headers=admin.headers)
    assert resp.status_code == 422 and resp.json()["code"] == "class.teacher_not_member"
    resp = await tenant.client.put(f"/api/v1/classes/{uuid.uuid4()}/teachers/{teacher.user_id}", headers=admin.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "class.not_found"
    # A teacher cannot assign itself; a student or parent reads no class.
    resp = await tenant.client.put(f"/api/v1/classes/{a}/teachers/{teacher.user_id}", headers=teacher.headers)
    assert resp.status_code == 403
    for role in ("student", "parent"):
        resp = await tenant.client.get("/api/v1/classes", headers=tenant.actor(1, role, org).headers)
        assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"
    # Another org's admin does not see the class at all.
    other = await tenant.make_org(1)
    resp = await tenant.client.put(f"/api/v1/classes/{a}/teachers/{teacher.user_id}",
                                   headers=tenant.actor(1, "org_admin", other).headers)
    assert resp.status_code == 404
    assert await tenant.sql("SELECT 1 FROM tenant.teacher_classes") == []
    # Deleting the class drops its assignments.
    assert (await tenant.client.put(f"/api/v1/classes/{a}/teachers/{teacher.user_id}", headers=admin.headers)
            ).status_code == 201
    assert (await tenant.client.delete(f"/api/v1/classes/{a}", headers=admin.headers)).status_code == 204
    assert await tenant.sql("SELECT 1 FROM tenant.teacher_classes") == []


async def test_grpc_teacher_classes_and_class_students(tenant) -> None:
    org, admin, teacher, (a, b), (sa, _sb) = await _school(tenant)
    pupil = tenant.auth.add(1, "pupil@example.com", "Pupil")
    await tenant.sql("UPDATE tenant.students SET user_id = :u WHERE id = :id", u=pupil, id=uuid.UUID(sa))
    await tenant.client.put(f"/api/v1/classes/{b}/teachers/{teacher.user_id}", headers=admin.headers)
    async with grpc.aio.insecure_channel(tenant.grpc_target) as ch:
        stub = tenant_pb2_grpc.TenantServiceStub(ch)
        reply = await stub.ListTeacherClasses(tenant_pb2.ListTeacherClassesRequest(
            zone_id=1, org_id=str(org), teacher_user_id=str(teacher.user_id)))
        assert list(reply.class_ids) == [b]
        reply = await stub.ListTeacherClasses(tenant_pb2.ListTeacherClassesRequest(
            zone_id=1, org_id=str(await tenant.make_org(1)), teacher_user_id=str(teacher.user_id)))
        assert list(reply.class_ids) == []
        reply = await stub.ListClassStudents(tenant_pb2.ListClassStudentsRequest(zone_id=1, org_id=str(org), class_id=a))
        assert [(s.student_id, s.user_id, s.name) for s in reply.students] == [(sa, str(pupil), "Pupil 5-A")]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListClassStudents(tenant_pb2.ListClassStudentsRequest(
                zone_id=2, org_id=str(org), class_id=a))  # the class is not in zone 2
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListTeacherClasses(tenant_pb2.ListTeacherClassesRequest(zone_id=1, org_id="x"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_unknown_query_parameter_on_student_list_is_400(tenant) -> None:
    org, admin, *_ = await _school(tenant)
    resp = await tenant.client.get("/api/v1/rosters/students?q=Pupil", headers=admin.headers)
    assert resp.status_code == 400 and resp.json()["code"] == "request.unknown_parameter"
    assert resp.json()["parameters"] == ["q"]
    resp = await tenant.client.get("/api/v1/rosters/students?name=Pupil%205-A", headers=admin.headers)
    assert resp.status_code == 200 and resp.json()["total"] == 1


async def test_rls_isolates_teacher_classes(test_db) -> None:
    """Straight at the database as the app role: another org (or zone) neither sees nor changes
    an org's assignments, and cannot write rows into it."""
    engine = make_engine(test_db.app_url("tenant"), pool_size=2)
    sessions = make_sessionmaker(engine)
    try:
        orgs = {}
        for zone_id, name in ((1, "a"), (1, "b"), (2, "c")):
            org, klass = uuid.uuid4(), uuid.uuid4()
            async with tenant_transaction(sessions, TenantContext(zone_id, role="super_admin")) as s:
                await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:o, :z, 'Org')"),
                                {"o": org, "z": zone_id})
            async with tenant_transaction(sessions, TenantContext(zone_id, org, "org_admin")) as s:
                await s.execute(text("INSERT INTO tenant.classes (id, zone_id, org_id, grade, name)"
                                     " VALUES (:c, :z, :o, 1, 'x')"), {"c": klass, "z": zone_id, "o": org})
                await s.execute(text("INSERT INTO tenant.teacher_classes (zone_id, org_id, class_id, teacher_user_id)"
                                     " VALUES (:z, :o, :c, gen_random_uuid())"), {"c": klass, "z": zone_id, "o": org})
            orgs[name] = (zone_id, org, klass)

        async def seen(ctx: TenantContext) -> set[uuid.UUID]:
            async with tenant_transaction(sessions, ctx) as s:
                return set((await s.execute(text("SELECT org_id FROM tenant.teacher_classes"))).scalars())

        (_, a, ka), (_, b, _kb), (_, c, _kc) = orgs["a"], orgs["b"], orgs["c"]
        assert await seen(TenantContext(1, a, "teacher")) == {a}
        assert await seen(TenantContext(1, b, "org_admin")) == {b}
        assert await seen(TenantContext(2, a, "org_admin")) == set()
        assert await seen(TenantContext(1, role="zone_admin")) == {a, b}
        assert await seen(TenantContext(2, role="super_admin")) == {c}
        async with tenant_transaction(sessions, TenantContext(1, b, "org_admin")) as s:
            dele = await s.execute(text("DELETE FROM tenant.teacher_classes WHERE org_id = :a"), {"a": a})
            upd = await s.execute(text("UPDATE tenant.teacher_classes SET assigned_by = gen_random_uuid()"
                                       " WHERE org_id = :a"), {"a": a})
            assert (dele.rowcount, upd.rowcount) == (0, 0)
        with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
            async with tenant_transaction(sessions, TenantContext(1, b, "org_admin")) as s:
                await s.execute(text("INSERT INTO tenant.teacher_classes (zone_id, org_id, class_id, teacher_user_id)"
                                     " VALUES (1, :a, :k, gen_random_uuid())"), {"a": a, "k": ka})
        assert await seen(TenantContext(1, a, "org_admin")) == {a}
    finally:
        await engine.dispose()
