"""`GET /api/v1/exams/{exam_id}/attempts` with the real tenant service in the loop (classes,
rosters and teacher assignments are made through tenant's API) and auth's LookupUsers over real
gRPC: filters, `not_started`, cursor pages, student names, who sees what, and 503s."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy import text

from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.testing import run_service
from services.exam.tests.conftest import ExamApp, make_bank, make_exam

HOST = "api.univprepai.com"


class FakeAuth(auth_pb2_grpc.AuthServiceServicer):
    """Auth's LookupUsers over real gRPC, from an in-memory user list; counts lookups by id."""

    def __init__(self) -> None:
        self.users: dict[str, auth_pb2.User] = {}
        self.id_lookups = 0

    def add(self, email: str, name: str) -> uuid.UUID:
        user_id = uuid.uuid4()
        self.users[str(user_id)] = auth_pb2.User(id=str(user_id), zone_id=1, email=email, display_name=name)
        return user_id

    async def LookupUsers(self, request, context):  # noqa: N802 - gRPC method name
        self.id_lookups += bool(request.user_ids)
        emails, ids = {e.lower() for e in request.emails}, set(request.user_ids)
        return auth_pb2.UserList(users=[u for u in self.users.values() if u.zone_id == request.zone_id
                                        and (u.email in emails or u.id in ids)])


@dataclass
class Stack:
    exam: ExamApp
    tenant: Any
    tenant_client: httpx.AsyncClient
    auth: FakeAuth


@pytest.fixture
async def stack(test_db, namespace, token_mint) -> AsyncIterator[Stack]:
    auth = FakeAuth()
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, server)
    auth_target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    await server.start()
    try:
        async with contextlib.AsyncExitStack() as es:
            tenant = await es.enter_async_context(run_service("tenant", test_db, namespace,
                                                              grpc_peers={"auth": auth_target}))
            exam = await es.enter_async_context(run_service(
                "exam", test_db, namespace, expiry_sweep_seconds=3600, student_name_cache_seconds=0.0,
                grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}", "auth": auth_target}))
            for rt in (tenant, exam):
                token_mint.install(rt.app)
            tc = await es.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{tenant.http_port}",
                                                                timeout=30))
            ec = await es.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{exam.http_port}",
                                                                timeout=30))
            yield Stack(ExamApp(exam, ec, token_mint, test_db), tenant, tc, auth)
    finally:
        await server.stop(0)


async def _make_org(test_db, org: uuid.UUID) -> None:
    engine = make_engine(test_db.app_url("tenant"), pool_size=1)
    try:
        async with tenant_transaction(make_sessionmaker(engine), TenantContext(1, role="super_admin")) as s:
            await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, 1, 'School')"), {"id": org})
    finally:
        await engine.dispose()


async def _school(st: Stack):
    """Org A in tenant with an admin, a teacher, class 7-A (students Ahn, Baek, Choi with accounts,
    Dong without) and class 7-B (student Eom); a published fixed exam set for 7-A."""
    app = st.exam
    org = app.org_a
    await _make_org(app.db, org)
    admin = app.actor("org_admin", org)
    teacher = app.actor("teacher", org)
    for who, role in ((admin, "org_admin"), (teacher, "teacher")):
        await app.db.sql("INSERT INTO tenant.memberships (zone_id, org_id, user_id, role) VALUES (1, :o, :u, :r)",
                         o=org, u=who.user_id, r=role)

    async def tenant_ok(method: str, path: str, status: int = 200, **kw: Any) -> Any:
        resp = await st.tenant_client.request(method, path, headers={**admin.headers, "Host": HOST}, **kw)
        assert resp.status_code == status, resp.text
        return resp.json() if resp.content else None

    class_a = (await tenant_ok("POST", "/api/v1/classes", 201, json={"grade": 7, "name": "7-A"}))["id"]
    class_b = (await tenant_ok("POST", "/api/v1/classes", 201, json={"grade": 7, "name": "7-B"}))["id"]
    users: dict[str, uuid.UUID | None] = {}
    for name, klass, account in (("Ahn", class_a, True), ("Baek", class_a, True), ("Choi", class_a, True),
                                 ("Dong", class_a, False), ("Eom", class_b, True)):
        users[name] = st.auth.add(f"{name.lower()}@example.com", f"{name} (auth)") if account else None
        rec = await tenant_ok("POST", "/api/v1/rosters/students", 201, json={
            "name": name, "grade": 7, "parent_phone": "010-1234-5678", "class_id": klass})
        if account:
            await app.db.sql("UPDATE tenant.students SET user_id = :u WHERE id = CAST(:id AS uuid)",
                             u=users[name], id=rec["id"])
    bank, items = await make_bank(app, teacher, 3)
    exam = await make_exam(app, teacher, bank, items=items, class_id=class_a)
    return org, admin, teacher, class_a, class_b, users, exam, tenant_ok


async def _start(app: ExamApp, exam: dict, user_id: uuid.UUID, submit: bool = False) -> dict:
    student = app.actor("student", app.org_a, user_id=user_id)
    att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    if submit:
        await app.ok("POST", f"/api/v1/attempts/{att['id']}/submit", student)
    return att


async def test_org_admin_lists_attempts_filters_pages_and_not_started(stack: Stack) -> None:
    app = stack.exam
    org, admin, _teacher, class_a, _class_b, users, exam, _ = await _school(stack)
    await _start(app, exam, users["Ahn"], submit=True)
    await _start(app, exam, users["Baek"])
    base = f"/api/v1/exams/{exam['id']}/attempts"

    page = await app.ok("GET", base, admin)
    assert [(r["name"], r["status"], r["class_id"]) for r in page["items"]] == [
        ("Baek (auth)", "in_progress", class_a), ("Ahn (auth)", "completed", class_a)]
    assert page["next_cursor"] is None and all(r["attempt_id"] for r in page["items"])

    done = await app.ok("GET", base, admin, params={"status": "completed"})
    assert [r["student_id"] for r in done["items"]] == [str(users["Ahn"])]
    assert (await app.ok("GET", base, admin, params={"class_id": str(uuid.uuid4())}))["items"] == []

    # Cursor pages: one row each, then the end.
    first = await app.ok("GET", base, admin, params={"limit": 1})
    second = await app.ok("GET", base, admin, params={"limit": 1, "cursor": first["next_cursor"]})
    assert [first["items"][0]["name"], second["items"][0]["name"]] == ["Baek (auth)", "Ahn (auth)"]
    assert second["next_cursor"] is None
    resp = await app.call("GET", base, admin, params={"cursor": "forged"})
    assert resp.status_code == 400 and resp.json()["code"] == "request.invalid_cursor"

    # Who has not started: the exam's class roster minus the students with an attempt.
    waiting = await app.ok("GET", base, admin, params={"status": "not_started"})
    assert [(r["name"], r["student_id"], r["status"]) for r in waiting["items"]] == [
        ("Choi (auth)", str(users["Choi"]), "not_started"), ("Dong", None, "not_started")]
    assert all(r["roster_student_id"] and r["attempt_id"] is None for r in waiting["items"])
    one = await app.ok("GET", base, admin, params={"status": "not_started", "limit": 1})
    rest = await app.ok("GET", base, admin, params={"status": "not_started", "limit": 1, "cursor": one["next_cursor"]})
    assert [one["items"][0]["name"], rest["items"][0]["name"], rest["next_cursor"]] == ["Choi (auth)", "Dong", None]
    # A cursor of one listing is refused by the other.
    resp = await app.call("GET", base, admin, params={"cursor": one["next_cursor"]})
    assert resp.status_code == 400 and resp.json()["code"] == "request.invalid_cursor"

    # Bad input and other callers.
    resp = await app.call("GET", base, admin, params={"status": "submitted_maybe"})
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"
    resp = await app.call("GET", base, admin, params={"q": "Ahn"})
    assert resp.status_code == 400 and resp.json()["code"] == "request.unknown_parameter"
    for role in ("student", "parent"):
        resp = await app.call("GET", base, app.actor(role, org))
        assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"
    resp = await app.call("GET", base, app.actor("org_admin", app.org_b))
    assert resp.status_code == 404 and resp.json()["code"] == "exam.not_found"
    zone_admin = app.actor("zone_admin")
    assert len((await app.ok("GET", base, zone_admin, params={"org_id": str(org)}))["items"]) == 2


async def test_teacher_sees_only_assigned_classes(stack: Stack) -> None:
    app = stack.exam
    _org, _admin, teacher, class_a, class_b, users, exam, tenant_ok = await _school(stack)
    await _start(app, exam, users["Ahn"])
    base = f"/api/v1/exams/{exam['id']}/attempts"

    assert (await app.ok("GET", base, teacher))["items"] == []  # not assigned to 7-A yet
    resp = await app.call("GET", base, teacher, params={"status": "not_started"})
    assert resp.status_code == 404 and resp.json()["code"] == "class.not_found"
    await tenant_ok("PUT", f"/api/v1/classes/{class_a}/teachers/{teacher.user_id}", 201)
    assert [r["name"] for r in (await app.ok("GET", base, teacher))["items"]] == ["Ahn (auth)"]
    assert len((await app.ok("GET", base, teacher, params={"status": "not_started"}))["items"]) == 3
    resp = await app.call("GET", base, teacher, params={"class_id": class_b})
    assert resp.status_code == 404 and resp.json()["code"] == "class.not_found"
    # An unassignment takes effect at once (tenant is asked per request).
    await tenant_ok("DELETE", f"/api/v1/classes/{class_a}/teachers/{teacher.user_id}", 204)
    assert (await app.ok("GET", base, teacher))["items"] == []


async def test_names_are_cached_and_dependencies_down_are_503(stack: Stack) -> None:
    app = stack.exam
    _org, admin, _teacher, _a, class_b, users, exam, _ = await _school(stack)
    await _start(app, exam, users["Ahn"])
    base = f"/api/v1/exams/{exam['id']}/attempts"
    # An exam set for no class has no audience to compare with.
    bank, items = await make_bank(app, app.actor("teacher"), 2, name="Other")
    loose = await make_exam(app, app.actor("teacher"), bank, items=items)
    resp = await app.call("GET", f"/api/v1/exams/{loose['id']}/attempts", admin, params={"status": "not_started"})
    assert resp.status_code == 422 and resp.json()["code"] == "attempt_list.class_required"
    waiting = await app.ok("GET", f"/api/v1/exams/{loose['id']}/attempts", admin,
                           params={"status": "not_started", "class_id": class_b})
    assert [r["name"] for r in waiting["items"]] == ["Eom (auth)"]

    res = app.runtime.resources
    res.settings = res.settings.model_copy(update={"student_name_cache_seconds": 600.0})
    settings = res.settings
    await app.ok("GET", base, admin)
    before = stack.auth.id_lookups
    await app.ok("GET", base, admin)
    assert stack.auth.id_lookups == before  # served from the cache

    settings.grpc_peers["tenant"] = "127.0.0.1:1"
    app.runtime.resources._channels.pop("tenant", None)
    resp = await app.call("GET", base, admin, params={"status": "not_started"})
    assert resp.status_code == 503 and resp.json()["code"] == "dependency.tenant_unavailable"
    await _start(app, exam, users["Choi"])  # a name not in the cache: auth must be asked
    settings.grpc_peers["auth"] = "127.0.0.1:1"
    app.runtime.resources._channels.pop("auth", None)
    resp = await app.call("GET", base, admin)
    assert resp.status_code == 503 and resp.json()["code"] == "dependency.auth_unavailable"
