"""Isolation matrix: two zones × two orgs × the seven roles × every tenant endpoint.

Every endpoint is called on resources of org A1 (zone 1) by each role from three places: from
A1 itself, from org B1 of the same zone, and from zone 2 (its own api host). Only what the
permission map allows, from A1 (or, for zone-level roles, from zone 1), may succeed; every
other call must be 403 or 404 and leave every tenant table exactly as it was.
"""
from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from megacity.db import TenantContext, tenant_transaction
from services.tenant.tests.conftest import STUDENT_PHONE_COLUMNS, sealed_phone

ORG_BOUND = ("org_admin", "teacher", "student", "parent", "guest")
ZONE_LEVEL = ("zone_admin", "super_admin")
ADMINS = {"org_admin", "zone_admin", "super_admin"}
TABLES = ("orgs", "memberships", "classes", "students", "teachers", "parents", "parent_links", "roster_imports",
          "roster_import_errors", "outbox")


def _tiny_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["name", "grade", "parent_phone"])
    wb.active.append([f"Pupil {uuid.uuid4().hex[:6]}", 3, "010-5555-0000"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class World:
    tenant: Any
    a1: uuid.UUID
    b1: uuid.UUID
    a2: uuid.UUID
    b2: uuid.UUID
    student_record: uuid.UUID
    klass: uuid.UUID
    teacher_record: uuid.UUID
    parent_record: uuid.UUID
    import_id: str

    async def insert(self, sql: str, **params: Any) -> uuid.UUID:
        async with tenant_transaction(self.tenant.sessions, TenantContext(1, role="super_admin")) as s:
            return (await s.execute(text(sql), {"z": 1, "o": self.a1, **params})).scalar_one()

    async def fresh_member(self) -> uuid.UUID:
        user = uuid.uuid4()
        await self.tenant.add_member(1, self.a1, user, "student")
        return user

    async def fresh_link(self, actor) -> uuid.UUID:
        parent = actor.user_id if actor.role == "parent" else uuid.uuid4()
        student = actor.user_id if actor.role == "student" else uuid.uuid4()
        return await self.insert("INSERT INTO tenant.parent_links (zone_id, org_id, parent_user_id, student_user_id)"
                                 " VALUES (:z, :o, :p, :s) RETURNING id", p=parent, s=student)

    async def fresh(self, table: str) -> uuid.UUID:
        if table == "classes":
            return await self.insert("INSERT INTO tenant.classes (zone_id, org_id, grade, name) VALUES (:z, :o, 5, :n)"
                                     " RETURNING id", n=uuid.uuid4().hex[:8])
        if table == "students":
            return await self.insert(f"INSERT INTO tenant.students (zone_id, org_id, name, grade, {STUDENT_PHONE_COLUMNS})"
                                     " VALUES (:z, :o, :n, 5, :pe, :pi, :kid) RETURNING id", n=uuid.uuid4().hex[:8],
                                     **sealed_phone("01000000000"))
        return await self.insert(f"INSERT INTO tenant.{table} (zone_id, org_id, name) VALUES (:z, :o, 'X') RETURNING id")


@dataclass(frozen=True)
class Endpoint:
    name: str
    allowed: frozenset[str]  # roles that succeed from A1 / zone 1
    request: Callable[[World, Any], Awaitable[tuple[str, str, dict]]]  # -> method, path, httpx kwargs


def ep(name: str, allowed: set[str] | tuple[str, ...], request) -> Endpoint:
    return Endpoint(name, frozenset(allowed), request)


def q(world: World) -> str:
    return f"org_id={world.a1}"


async def _static(method: str, path: str, **kw):
    return method, path, kw


def _person_endpoints(table: str) -> list[Endpoint]:
    base = f"/api/v1/rosters/{table}"
    rec = "teacher_record" if table == "teachers" else "parent_record"
    return [
        ep(f"list {table}", ADMINS, lambda w, a: _static("GET", f"{base}?{q(w)}")),
        ep(f"create {table}", ADMINS, lambda w, a: _static("POST", f"{base}?{q(w)}", json={"name": "New Person"})),
        ep(f"get {table}", ADMINS, lambda w, a: _static("GET", f"{base}/{getattr(w, rec)}?{q(w)}")),
        ep(f"update {table}", ADMINS, lambda w, a: _static("PATCH", f"{base}/{getattr(w, rec)}?{q(w)}",
                                                           json={"phone": "010-2222-3333"})),
        ep(f"delete {table}", ADMINS, lambda w, a: _delete_fresh(w, table, base)),
    ]


async def _delete_fresh(w: World, table: str, base: str):
    return "DELETE", f"{base}/{await w.fresh(table)}?{q(w)}", {}


async def _member_request(w: World, a, method: str):
    user = await w.fresh_member()
    return method, f"/api/v1/orgs/{w.a1}/members/{user}", {"json": {"role": "teacher"}} if method == "PATCH" else {}


async def _add_member_request(w: World, a):
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    w.tenant.auth.add(1, email)
    return "POST", f"/api/v1/orgs/{w.a1}/members", {"json": {"email": email, "role": "student"}}


async def _link_request(w: World, a, action: str):
    return "POST", f"/api/v1/parent-links/{await w.fresh_link(a)}/{action}?{q(w)}", {}


ENDPOINTS = [
    ep("get org", ADMINS, lambda w, a: _static("GET", f"/api/v1/orgs/{w.a1}")),
    ep("rename org", ADMINS,
       lambda w, a: _static("PATCH", f"/api/v1/orgs/{w.a1}", json={"name": "Renamed"})),
    ep("change org plan", ZONE_LEVEL, lambda w, a: _static("PATCH", f"/api/v1/orgs/{w.a1}", json={"plan": "premium"})),
    ep("list members", ADMINS | {"teacher"}, lambda w, a: _static("GET", f"/api/v1/orgs/{w.a1}/members")),
    ep("add member", ADMINS, _add_member_request),
    ep("change member role", ADMINS, lambda w, a: _member_request(w, a, "PATCH")),
    ep("remove member", ADMINS, lambda w, a: _member_request(w, a, "DELETE")),
    ep("list classes", {"org_admin", "super_admin", "teacher"}, lambda w, a: _static("GET", f"/api/v1/classes?{q(w)}")),
    ep("create class", {"org_admin", "super_admin"},
       lambda w, a: _static("POST", f"/api/v1/classes?{q(w)}", json={"grade": 7, "name": uuid.uuid4().hex[:8]})),
    ep("get class", {"org_admin", "super_admin"}, lambda w, a: _static("GET", f"/api/v1/classes/{w.klass}?{q(w)}")),
    ep("update class", {"org_admin", "super_admin"},
       lambda w, a: _static("PATCH", f"/api/v1/classes/{w.klass}?{q(w)}", json={"name": uuid.uuid4().hex[:8]})),
    ep("delete class", {"org_admin", "super_admin"}, lambda w, a: _delete_fresh(w, "classes", "/api/v1/classes")),
    ep("list students", ADMINS | {"teacher", "parent"}, lambda w, a: _static("GET", f"/api/v1/rosters/students?{q(w)}")),
    ep("create student", ADMINS, lambda w, a: _static("POST", f"/api/v1/rosters/students?{q(w)}", json={
        "name": uuid.uuid4().hex[:8], "grade": 4, "parent_phone": "010-3333-4444"})),
    # A parent holds student:read, but sees only approved-linked children: this one is not; a
    # teacher sees only the students of classes assigned to them: none here.
    ep("get student", ADMINS,
       lambda w, a: _static("GET", f"/api/v1/rosters/students/{w.student_record}?{q(w)}")),
    ep("update student", ADMINS,
       lambda w, a: _static("PATCH", f"/api/v1/rosters/students/{w.student_record}?{q(w)}", json={"grade": 9})),
    ep("delete student", ADMINS, lambda w, a: _delete_fresh(w, "students", "/api/v1/rosters/students")),
    *_person_endpoints("teachers"),
    *_person_endpoints("parents"),
    ep("request parent link", {"parent"},
       lambda w, a: _static("POST", "/api/v1/parent-links", json={"student_email": "pupil@example.com"})),
    ep("list parent links", ADMINS | {"parent", "student"}, lambda w, a: _static("GET", f"/api/v1/parent-links?{q(w)}")),
    ep("approve parent link", ADMINS | {"student"}, lambda w, a: _link_request(w, a, "approve")),
    ep("reject parent link", ADMINS | {"student"}, lambda w, a: _link_request(w, a, "reject")),
    ep("revoke parent link", ADMINS | {"student", "parent"}, lambda w, a: _link_request(w, a, "revoke")),
    ep("start import", ADMINS, lambda w, a: _static("POST", f"/api/v1/rosters/imports?{q(w)}", files={
        "file": ("r.xlsx", _tiny_xlsx(), "application/octet-stream")})),
    ep("list imports", ADMINS, lambda w, a: _static("GET", f"/api/v1/rosters/imports?{q(w)}")),
    ep("get import", ADMINS, lambda w, a: _static("GET", f"/api/v1/rosters/imports/{w.import_id}?{q(w)}")),
    # Progress is keyed by the caller's own org (zone-level callers have none): org admins only.
    ep("import progress", {"org_admin"}, lambda w, a: _static("GET", f"/api/v1/jobs/{w.import_id}/progress")),
]


def _rows(table: str) -> str:
    # The relay stamps published_at in the background; what was written is the rest of the row.
    return "(x.id, x.event_id, x.event_type, x.payload)" if table == "outbox" else "x"


async def _snapshot(tenant) -> dict[str, str]:
    parts = " UNION ALL ".join(
        f"SELECT '{t}' AS tbl, coalesce(md5(string_agg({_rows(t)}::text, '|' ORDER BY {_rows(t)}::text)), '') AS h"
        f" FROM tenant.{t} x" for t in TABLES)
    return {r.tbl: r.h for r in await tenant.sql(parts)}


@pytest.fixture
async def world(tenant) -> World:
    a1, b1 = await tenant.make_org(1, "A1"), await tenant.make_org(1, "B1")
    a2, b2 = await tenant.make_org(2, "A2"), await tenant.make_org(2, "B2")
    pupil = tenant.auth.add(1, "pupil@example.com")
    await tenant.add_member(1, a1, pupil, "student")
    admin = tenant.actor(1, "org_admin", a1)
    await tenant.add_member(1, a1, admin.user_id, "org_admin")
    h = admin.headers
    klass = (await tenant.client.post("/api/v1/classes", json={"grade": 5, "name": "5-A"}, headers=h)).json()["id"]
    student = (await tenant.client.post("/api/v1/rosters/students", headers=h, json={
        "name": "Pupil", "grade": 5, "parent_phone": "010-1000-2000", "class_id": klass})).json()["id"]
    teacher = (await tenant.client.post("/api/v1/rosters/teachers", json={"name": "T"}, headers=h)).json()["id"]
    parent = (await tenant.client.post("/api/v1/rosters/parents", json={"name": "P"}, headers=h)).json()["id"]
    imp = (await tenant.client.post("/api/v1/rosters/imports", headers=h,
                                    files={"file": ("r.xlsx", _tiny_xlsx(), "application/octet-stream")})).json()["id"]
    await tenant.runtime.app.state.roster_imports.wait_idle(10)
    return World(tenant, a1, b1, a2, b2, uuid.UUID(student), uuid.UUID(klass), uuid.UUID(teacher), uuid.UUID(parent),
                 imp)


def _callers(tenant, world: World):
    """(role, place, actor) for every role from every place."""
    for role in ORG_BOUND:
        yield role, "A1", tenant.actor(1, role, world.a1)
        yield role, "B1", tenant.actor(1, role, world.b1)
        yield role, "zone2", tenant.actor(2, role, world.a2)
    for role in ZONE_LEVEL:
        yield role, "zone1", tenant.actor(1, role)
        yield role, "zone2", tenant.actor(2, role)


async def test_isolation_matrix(tenant, world: World) -> None:
    failures = []
    calls = 0
    for endpoint in ENDPOINTS:
        for role, place, actor in _callers(tenant, world):
            method, path, kwargs = await endpoint.request(world, actor)
            before = await _snapshot(tenant)
            resp = await tenant.client.request(method, path, headers=actor.headers, **kwargs)
            calls += 1
            expect_ok = role in endpoint.allowed and place in ("A1", "zone1")
            if expect_ok:
                if not 200 <= resp.status_code < 300:
                    failures.append(f"{endpoint.name} as {role}@{place}: expected 2xx, got {resp.status_code} {resp.text}")
                await tenant.runtime.app.state.roster_imports.wait_idle(10)
                continue
            if resp.status_code not in (403, 404) or not resp.headers["content-type"].startswith("application/problem"):
                failures.append(f"{endpoint.name} as {role}@{place}: expected 403/404, got {resp.status_code} {resp.text}")
            after = await _snapshot(tenant)
            changed = [t for t in TABLES if before[t] != after[t]]
            if changed:
                failures.append(f"{endpoint.name} as {role}@{place}: denied but changed {changed}")
    assert not failures, "\n".join(failures)
    assert calls == len(ENDPOINTS) * (len(ORG_BOUND) * 3 + len(ZONE_LEVEL) * 2)


async def test_org_list_shows_only_visible_orgs(tenant, world: World) -> None:
    async def ids(actor) -> set[str]:
        resp = await tenant.client.get("/api/v1/orgs", headers=actor.headers)
        assert resp.status_code == 200, resp.text
        return {o["id"] for o in resp.json()["items"]}

    assert await ids(tenant.actor(1, "org_admin", world.b1)) == {str(world.b1)}
    assert await ids(tenant.actor(1, "zone_admin")) == {str(world.a1), str(world.b1)}
    assert await ids(tenant.actor(2, "zone_admin")) == {str(world.a2), str(world.b2)}
    assert await ids(tenant.actor(2, "super_admin")) == {str(world.a2), str(world.b2)}
    for role in ("teacher", "student", "parent", "guest"):
        resp = await tenant.client.get("/api/v1/orgs", headers=tenant.actor(1, role, world.a1).headers)
        assert resp.status_code == 403
    resp = await tenant.client.post("/api/v1/orgs", json={"name": "X"}, headers=tenant.actor(1, "org_admin", world.a1).headers)
    assert resp.status_code == 403


async def test_token_of_another_zone_is_refused_on_this_host(tenant, world: World) -> None:
    before = await _snapshot(tenant)
    for endpoint in ENDPOINTS:
        actor = tenant.actor(2, "super_admin")
        method, path, kwargs = await endpoint.request(world, actor)
        before = await _snapshot(tenant)
        headers = {**actor.headers, "Host": "api.univprepai.com"}  # zone-2 token on a zone-1 host
        resp = await tenant.client.request(method, path, headers=headers, **kwargs)
        assert resp.status_code == 403 and resp.json()["code"] == "auth.zone_mismatch", (endpoint.name, resp.text)
        assert await _snapshot(tenant) == before
    resp = await tenant.client.get(f"/api/v1/orgs/{world.a1}", headers={"Host": "api.univprepai.com"})
    assert resp.status_code == 401 and resp.json()["code"] == "auth.token_missing"
