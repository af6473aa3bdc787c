"""Platform audit (issue #17 §4) from tenant: every admin or data-changing action, done through
the real HTTP API, leaves one `audit.tenant.*` event in tenant's own outbox — written in the
transaction of the change — with actor, zone, org, target, before/after and the trace id."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from google.protobuf import json_format

from mcproto.events.v1.events_pb2 import AuditRecorded
from megacity.testing import audit_actor
from services.tenant.roster_import.sample import write_roster
from services.tenant.tests import test_parent_self_service as self_service
from services.tenant.tests import test_roster_provision as provision

mesh = provision.mesh  # the provision tests' fixture: tenant with the real auth service
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _traced(span_exporter):
    """A real SDK tracer provider, so requests have a trace id to record."""
    return span_exporter


async def _audits(tenant, action: str) -> list:
    return await tenant.sql("SELECT event_type, subject, zone_id, org_id, payload FROM tenant.outbox"
                            " WHERE event_type = :t ORDER BY id", t=f"audit.{action}")


def _check(row, action: str, actor, org, target_type: str, target_id) -> dict:
    p = row.payload
    assert row.subject == f"audit.{action}" and row.zone_id == actor.zone_id and row.org_id == org
    assert p["service"] == "tenant" and p["action"] == action
    assert p["actor"] == audit_actor(actor)
    assert p["target"] == {"type": target_type, "id": str(target_id)}
    assert p["trace_id"] and len(p["trace_id"]) == 32  # the request's span
    assert p["occurred_at"]
    json_format.ParseDict(p, AuditRecorded())  # the payload is the proto message
    return p


async def test_membership_changes_are_audited(tenant) -> None:
    org = await tenant.make_org(1)
    oa = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, oa.user_id, "org_admin")
    teacher = tenant.auth.add(1, "kim.teacher@example.com")
    base = f"/api/v1/orgs/{org}/members"

    assert (await tenant.client.post(base, json={"user_id": str(teacher), "role": "teacher"},
                                     headers=oa.headers)).status_code == 201
    [added] = await _audits(tenant, "tenant.member.added")
    assert _check(added, "tenant.member.added", oa, org, "membership", teacher)["after"] == {
        "user_id": str(teacher), "role": "teacher"}

    assert (await tenant.client.patch(f"{base}/{teacher}", json={"role": "org_admin"},
                                      headers=oa.headers)).status_code == 200
    [changed] = await _audits(tenant, "tenant.member.role_changed")
    p = _check(changed, "tenant.member.role_changed", oa, org, "membership", teacher)
    assert (p["before"], p["after"]) == ({"role": "teacher"}, {"role": "org_admin"})

    assert (await tenant.client.delete(f"{base}/{teacher}", headers=oa.headers)).status_code == 204
    [removed] = await _audits(tenant, "tenant.member.removed")
    assert _check(removed, "tenant.member.removed", oa, org, "membership", teacher)["before"]["role"] == "org_admin"

    # A refused change (the last org admin) writes no audit record: it rolls back with the change.
    resp = await tenant.client.delete(f"{base}/{oa.user_id}", headers=oa.headers)
    assert resp.status_code == 409
    assert len(await _audits(tenant, "tenant.member.removed")) == 1


async def test_org_changes_are_audited(tenant) -> None:
    za = tenant.actor(1, "zone_admin")
    resp = await tenant.client.post("/api/v1/orgs", json={"name": "Seoul Science", "plan": "standard"},
                                    headers=za.headers)
    assert resp.status_code == 201, resp.text
    org = uuid.UUID(resp.json()["id"])
    [created] = await _audits(tenant, "tenant.org.created")
    assert _check(created, "tenant.org.created", za, org, "org", org)["after"]["name"] == "Seoul Science"

    resp = await tenant.client.patch(f"/api/v1/orgs/{org}", json={"status": "suspended"}, headers=za.headers)
    assert resp.status_code == 200, resp.text
    [updated] = await _audits(tenant, "tenant.org.updated")
    p = _check(updated, "tenant.org.updated", za, org, "org", org)
    assert (p["before"], p["after"]) == ({"status": "active"}, {"status": "suspended"})


async def test_parent_link_decisions_are_audited(tenant) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    s_user = tenant.auth.add(1, "minji@example.com")
    await tenant.add_member(1, org, s_user, "student")
    parent = tenant.actor(1, "parent", org)
    links = "/api/v1/parent-links"
    resp = await tenant.client.post(links, json={"student_email": "minji@example.com"}, headers=parent.headers)
    assert resp.status_code == 201, resp.text
    link = resp.json()["id"]
    assert (await tenant.client.post(f"{links}/{link}/approve", headers=admin.headers)).status_code == 200
    [approved] = await _audits(tenant, "tenant.parent_link.approved")
    p = _check(approved, "tenant.parent_link.approved", admin, org, "parent_link", link)
    assert p["before"] == {"status": "pending"} and p["after"]["status"] == "approved"
    assert p["after"]["parent_user_id"] == str(parent.user_id)
    assert (await tenant.client.post(f"{links}/{link}/revoke", headers=admin.headers)).status_code == 200
    [revoked] = await _audits(tenant, "tenant.parent_link.revoked")
    assert _check(revoked, "tenant.parent_link.revoked", admin, org, "parent_link", link)["before"] == {
        "status": "approved"}


async def test_roster_import_started_and_committed_are_audited(tenant, tmp_path) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    path = tmp_path / "roster.xlsx"
    write_roster(path, 20, bad_every=0)
    resp = await tenant.client.post("/api/v1/rosters/imports", files={"file": ("roster.xlsx", path.read_bytes(), XLSX)},
                                    headers=admin.headers)
    assert resp.status_code == 202, resp.text
    import_id = resp.json()["id"]
    [started] = await _audits(tenant, "tenant.roster_import.started")
    assert _check(started, "tenant.roster_import.started", admin, org, "roster_import", import_id)["after"]["rows"] == 20
    deadline = time.monotonic() + 120
    while not (committed := await _audits(tenant, "tenant.roster_import.committed")):
        assert time.monotonic() < deadline, "the import never committed"
        await asyncio.sleep(0.05)
    p = committed[0].payload
    assert p["actor"] == {"user_id": str(admin.user_id), "role": "org_admin", "kind": "user"}
    assert p["target"] == {"type": "roster_import", "id": import_id}
    assert p["after"]["rows"] == 20 and p["after"]["created"] == 20 and p["after"]["errors"] == 0


async def test_a_rejected_parent_link_is_audited(tenant) -> None:
    org = await tenant.make_org(1)
    s_user = tenant.auth.add(1, "jisoo@example.com")
    await tenant.add_member(1, org, s_user, "student")
    student = tenant.actor(1, "student", org, user_id=s_user)
    parent = tenant.actor(1, "parent", org)
    resp = await tenant.client.post("/api/v1/parent-links", json={"student_email": "jisoo@example.com"},
                                    headers=parent.headers)
    assert resp.status_code == 201, resp.text
    link = resp.json()["id"]
    assert (await tenant.client.post(f"/api/v1/parent-links/{link}/reject", headers=student.headers)).status_code == 200
    [rejected] = await _audits(tenant, "tenant.parent_link.rejected")
    p = _check(rejected, "tenant.parent_link.rejected", student, org, "parent_link", link)
    assert (p["before"], p["after"]["status"]) == ({"status": "pending"}, "rejected")


async def test_roster_provisioning_is_audited(mesh, span_exporter, tmp_path) -> None:
    """Provisioning accounts from an import, with the real auth service (the provision tests' mesh)."""
    org, admin, import_id, _ = await provision._imported(mesh, tmp_path)
    done = await provision._provision(mesh, admin, import_id)
    assert done["status"] == "succeeded"
    rows = await mesh.sql("SELECT event_type, org_id, payload FROM tenant.outbox WHERE event_type LIKE"
                          " 'audit.tenant.roster_provision.%' ORDER BY id")
    assert [r.event_type for r in rows] == ["audit.tenant.roster_provision.started",
                                            "audit.tenant.roster_provision.chunk_applied",
                                            "audit.tenant.roster_provision.completed"]
    started, chunk, completed = (r.payload for r in rows)
    assert chunk["actor"] == started["actor"] and chunk["target"] == started["target"]
    assert chunk["after"]["students"] == provision.STUDENTS and chunk["after"]["job_id"] == started["after"]["job_id"]
    assert sum(chunk["after"]["accounts"].values()) == provision.STUDENTS + chunk["after"]["parents"]
    assert {r.org_id for r in rows} == {org}
    assert started["actor"]["role"] == "org_admin" and started["actor"] == completed["actor"]
    assert started["target"] == completed["target"] == {"type": "roster_import", "id": import_id}
    assert started["after"]["students"] == provision.STUDENTS == completed["after"]["students"]
    assert completed["after"]["job_id"] == started["after"]["job_id"]


async def test_parent_code_redemption_and_granted_membership_are_audited(tenant) -> None:
    """A guest presenting a school's parent code: the link is approved and the guest becomes a
    parent member in that one transaction, and both are audited (actor: the guest)."""
    org, _, teacher, _, rec = await self_service._school(tenant)
    resp = await tenant.client.post(f"/api/v1/rosters/students/{rec['id']}/parent-codes", headers=teacher.headers,
                                    json={"valid_days": 7})
    assert resp.status_code == 201, resp.text
    issued = resp.json()
    dad = self_service._guest(tenant, "dad@example.com")
    resp = await tenant.client.post("/api/v1/parent-links", headers=dad.headers,
                                    json={"org_id": str(org), "parent_code": issued["code"]})
    assert resp.status_code == 201, resp.text
    link = resp.json()["id"]
    [approved] = await _audits(tenant, "tenant.parent_link.approved")
    p = _check(approved, "tenant.parent_link.approved", dad, org, "parent_link", link)
    assert p["before"] == {"status": None}
    assert p["after"]["via"] == "parent_code" and p["after"]["code_id"] == issued["id"]
    assert p["after"]["code_issued_by"] == str(teacher.user_id) and p["after"]["parent_user_id"] == str(dad.user_id)
    added = [r for r in await _audits(tenant, "tenant.member.added") if r.payload["target"]["id"] == str(dad.user_id)]
    [member] = added
    assert _check(member, "tenant.member.added", dad, org, "membership", dad.user_id)["after"] == {
        "user_id": str(dad.user_id), "role": "parent", "via": "parent_link"}
    # The code is spent: a second try is refused and records nothing more.
    resp = await tenant.client.post("/api/v1/parent-links", headers=dad.headers,
                                    json={"org_id": str(org), "parent_code": issued["code"]})
    assert resp.status_code == 409
    assert len(await _audits(tenant, "tenant.parent_link.approved")) == 1


async def test_classes_and_teacher_assignments_are_audited(tenant) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    teacher = tenant.actor(1, "teacher", org)
    await tenant.add_member(1, org, teacher.user_id, "teacher")
    h = admin.headers
    resp = await tenant.client.post("/api/v1/classes", json={"grade": 5, "name": "5-A"}, headers=h)
    assert resp.status_code == 201, resp.text
    klass = resp.json()["id"]
    [created] = await _audits(tenant, "tenant.class.created")
    assert _check(created, "tenant.class.created", admin, org, "class", klass)["after"] == {"grade": 5, "name": "5-A"}
    assert (await tenant.client.patch(f"/api/v1/classes/{klass}", json={"name": "5-B"}, headers=h)).status_code == 200
    [updated] = await _audits(tenant, "tenant.class.updated")
    p = _check(updated, "tenant.class.updated", admin, org, "class", klass)
    assert (p["before"], p["after"]) == ({"name": "5-A"}, {"name": "5-B"})

    base = f"/api/v1/classes/{klass}/teachers/{teacher.user_id}"
    for _ in range(2):  # idempotent: the second assignment changes nothing and records nothing
        assert (await tenant.client.put(base, headers=h)).status_code in (200, 201)
    [assigned] = await _audits(tenant, "tenant.class.teacher_assigned")
    assert _check(assigned, "tenant.class.teacher_assigned", admin, org, "class", klass)["after"] == {
        "teacher_user_id": str(teacher.user_id)}
    assert (await tenant.client.delete(base, headers=h)).status_code == 204
    assert (await tenant.client.delete(base, headers=h)).status_code == 404  # not assigned: no record
    [unassigned] = await _audits(tenant, "tenant.class.teacher_unassigned")
    assert _check(unassigned, "tenant.class.teacher_unassigned", admin, org, "class", klass)["before"] == {
        "teacher_user_id": str(teacher.user_id)}

    assert (await tenant.client.delete(f"/api/v1/classes/{klass}", headers=h)).status_code == 204
    assert (await tenant.client.delete(f"/api/v1/classes/{klass}", headers=h)).status_code == 404
    [deleted] = await _audits(tenant, "tenant.class.deleted")
    assert _check(deleted, "tenant.class.deleted", admin, org, "class", klass)["before"] == {"grade": 5, "name": "5-B"}


async def test_roster_records_are_audited_without_personal_data(tenant) -> None:
    """Students, teachers and parents on the roster: created, updated and deleted are audited
    with the names of the fields and non-personal values only (no name, phone or email)."""
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    h = admin.headers
    personal = ("Kim Minji", "010-1234-5678", "minji@example.com", "Park Jisoo", "010-9876-5432", "park@example.com",
                "Lee Sora")
    resp = await tenant.client.post("/api/v1/rosters/students", headers=h, json={
        "name": "Kim Minji", "grade": 10, "parent_phone": "010-1234-5678", "email": "minji@example.com"})
    assert resp.status_code == 201, resp.text
    student = resp.json()["id"]
    [created] = await _audits(tenant, "tenant.student.created")
    assert _check(created, "tenant.student.created", admin, org, "student", student)["after"] == {
        "grade": 10, "fields": ["email", "grade", "name", "parent_phone"]}
    resp = await tenant.client.patch(f"/api/v1/rosters/students/{student}", headers=h,
                                     json={"grade": 11, "parent_phone": "010-5555-6666"})
    assert resp.status_code == 200, resp.text
    [updated] = await _audits(tenant, "tenant.student.updated")
    assert _check(updated, "tenant.student.updated", admin, org, "student", student)["after"] == {
        "grade": 11, "fields": ["grade", "parent_phone"]}
    assert (await tenant.client.delete(f"/api/v1/rosters/students/{student}", headers=h)).status_code == 204
    [deleted] = await _audits(tenant, "tenant.student.deleted")
    p = _check(deleted, "tenant.student.deleted", admin, org, "student", student)
    assert (p["before"], p["after"]) == ({"status": "live"}, {"status": "deleted"})

    for kind, body in (("teacher", {"name": "Park Jisoo", "email": "park@example.com", "phone": "010-9876-5432"}),
                       ("parent", {"name": "Lee Sora"})):
        url = f"/api/v1/rosters/{kind}s"
        resp = await tenant.client.post(url, headers=h, json=body)
        assert resp.status_code == 201, resp.text
        person = resp.json()["id"]
        [made] = await _audits(tenant, f"tenant.{kind}.created")
        assert _check(made, f"tenant.{kind}.created", admin, org, kind, person)["after"] == {"fields": sorted(body)}
        assert (await tenant.client.patch(f"{url}/{person}", headers=h, json={"phone": None})).status_code == 200
        [changed] = await _audits(tenant, f"tenant.{kind}.updated")
        assert changed.payload["after"] == {"fields": ["phone"]}
        assert (await tenant.client.delete(f"{url}/{person}", headers=h)).status_code == 204
        assert (await tenant.client.delete(f"{url}/{person}", headers=h)).status_code == 404
        assert len(await _audits(tenant, f"tenant.{kind}.deleted")) == 1

    rows = await tenant.sql("SELECT payload::text AS p FROM tenant.outbox WHERE event_type LIKE 'audit.%'")
    assert rows and not any(value in r.p for r in rows for value in personal)


async def test_failed_and_swept_roster_imports_are_audited(tenant, tmp_path) -> None:
    """An import that fails while running (here: its file is gone) and one whose process died
    (swept) each leave `tenant.roster_import.failed` with the counters so far."""
    from megacity.db import TenantContext
    from services.tenant.roster_import.jobs import INTERRUPTED, ImportJob, ImportRunner
    from services.tenant.roster_import.workbook import inspect_workbook

    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    path = tmp_path / "roster.xlsx"
    write_roster(path, 20, bad_every=0)
    info = inspect_workbook(path)
    path.unlink()
    broken, dead = uuid.uuid4(), uuid.uuid4()
    for import_id, age, done in ((broken, 0, 0), (dead, 600, 7)):
        await tenant.sql(
            "INSERT INTO tenant.roster_imports (id, zone_id, org_id, created_by, filename, size_bytes, total_rows,"
            " status, heartbeat_at, processed_rows, created_count) VALUES (:id, 1, :o, :by, 'r.xlsx', 1000, 20,"
            " 'queued', now() - make_interval(secs => :age), :n, :n)", id=import_id, o=org, by=admin.user_id,
            age=age, n=done)
    ctx = TenantContext(1, org, role="org_admin", user_id=admin.user_id)
    await ImportRunner(tenant.runtime.resources).run(ImportJob(broken, ctx, path, info))
    runner: ImportRunner = tenant.runtime.app.state.roster_imports
    await runner.sweep()  # the service's own upkeep may have swept it first: either way, one record

    failed = {r.payload["target"]["id"]: r for r in await _audits(tenant, "tenant.roster_import.failed")}
    assert set(failed) == {str(broken), str(dead)}
    row = failed[str(broken)]  # run outside a request: no trace id to check
    p = row.payload
    assert (row.zone_id, row.org_id, p["action"]) == (1, org, "tenant.roster_import.failed")
    assert p["actor"] == {"user_id": str(admin.user_id), "role": "org_admin", "kind": "user"}
    assert p["after"]["status"] == "failed" and p["after"]["reason"].startswith("internal error")
    assert (p["after"]["total_rows"], p["after"]["processed_rows"]) == (20, 0)
    swept = failed[str(dead)].payload
    assert swept["actor"] == {"user_id": None, "role": "roster-import-sweep", "kind": "system"}
    assert swept["after"]["reason"] in (INTERRUPTED, INTERRUPTED[:199] + "…")  # clipped by megacity.audit
    assert (swept["after"]["processed_rows"], swept["after"]["created_count"]) == (7, 7)
