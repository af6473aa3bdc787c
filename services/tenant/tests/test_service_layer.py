"""The rules that moved into `service.py`, called directly (no HTTP), against the real
database, Redis and NATS of the running service: starting a roster import, and the decisions on
a parent–student link (approve, reject, revoke)."""
from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass

import pytest

from megacity.errors import AppError
from services.tenant.parent_links import service as links
from services.tenant.roster_import import service as imports
from services.tenant.roster_import.jobs import ImportRunner
from services.tenant.roster_import.sample import write_roster


@dataclass
class BytesUpload:
    """An uploaded file as the service reads it (the route passes Starlette's UploadFile)."""

    content: bytes
    filename: str | None = "roster.xlsx"

    def __post_init__(self) -> None:
        self._buf = io.BytesIO(self.content)

    async def read(self, size: int = -1) -> bytes:
        return self._buf.read(size)


def _xlsx(rows: list[list]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def _raises(code: str, awaitable) -> AppError:
    with pytest.raises(AppError) as info:
        await awaitable
    assert info.value.code == code, info.value
    return info.value


async def _events(tenant, prefix: str) -> list[tuple[str, dict]]:
    rows = await tenant.sql("SELECT event_type, payload FROM tenant.outbox WHERE event_type LIKE :p ORDER BY id",
                            p=prefix + "%")
    return [(r.event_type, r.payload if isinstance(r.payload, dict) else json.loads(r.payload)) for r in rows]


# --- roster import: start ---------------------------------------------------------------------

async def test_start_import_checks_the_org_then_the_file_then_runs_the_job(tenant, tmp_path) -> None:
    res = tenant.runtime.resources
    runner: ImportRunner = tenant.runtime.app.state.roster_imports
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)

    # Before the upload is read: scope, declared size, an active org.
    assert await imports.prepare_import(res, admin.principal, None, 1000) == org
    await _raises("org.not_found", imports.prepare_import(res, admin.principal, uuid.uuid4(), None))
    await _raises("org.required", imports.prepare_import(res, tenant.actor(1, "zone_admin").principal, None, None))
    assert await imports.prepare_import(res, tenant.actor(1, "zone_admin").principal, org, None) == org
    err = await _raises("roster_import.too_large",
                        imports.prepare_import(res, admin.principal, None, imports.MAX_UPLOAD_BYTES * 2))
    assert err.status == 413
    suspended = await tenant.make_org(1, "Suspended")
    await tenant.sql("UPDATE tenant.orgs SET status = 'suspended' WHERE id = :o", o=suspended)
    await _raises("org.not_active",
                  imports.prepare_import(res, tenant.actor(1, "org_admin", suspended).principal, None, None))

    # A bad file is refused before anything is written.
    err = await _raises("roster_import.missing_columns", imports.start_import(
        res, runner, admin.principal, org, BytesUpload(_xlsx([["name", "grade"], ["Kim", 1]]))))
    assert err.status == 422
    await _raises("roster_import.empty_file", imports.start_import(res, runner, admin.principal, org, BytesUpload(b"")))
    assert await tenant.sql("SELECT 1 FROM tenant.roster_imports") == []

    # A good one: the import row (queued) and its progress exist when start returns; the job runs.
    path = tmp_path / "roster.xlsx"
    bad = write_roster(path, 120, bad_every=40)
    started = await imports.start_import(res, runner, admin.principal, org,
                                         BytesUpload(path.read_bytes(), "Roster 2026.xlsx"))
    assert started.total_rows == 120
    assert started.columns == ["class", "email", "grade", "name", "parent_email", "parent_phone"]
    assert started.ignored_columns == ["Memo"]
    row = (await tenant.sql("SELECT org_id, created_by, filename, size_bytes, total_rows FROM tenant.roster_imports"
                            " WHERE id = :i", i=started.id))[0]
    assert (row.org_id, row.created_by, row.filename, row.size_bytes, row.total_rows) == (
        org, admin.user_id, "Roster 2026.xlsx", path.stat().st_size, 120)
    assert await runner.progress().get(1, org, started.id) is not None

    await runner.wait_idle(timeout=120)  # bounds a hang only
    report = await imports.get_import(res, admin.principal, None, started.id, errors_limit=1000, errors_offset=0)
    assert report.summary.status == "succeeded", report.summary
    assert (report.summary.processed_rows, report.summary.created_count, report.summary.error_count) == (
        120, 120 - len(bad), len(bad))
    assert {(e.row, e.column) for e in report.errors} == set(bad) and report.errors_total == len(bad)
    assert (await runner.progress().get(1, org, started.id))["status"] == "succeeded"
    assert [i.id for i in await imports.list_imports(res, admin.principal, None, 20)] == [started.id]
    (kind, payload), = await _events(tenant, "roster.import.")
    assert (kind, payload["status"], payload["import_id"]) == ("roster.import.completed", "succeeded", str(started.id))

    # Another org's admin cannot read it.
    other = tenant.actor(1, "org_admin", await tenant.make_org(1))
    await _raises("roster_import.not_found", imports.get_import(res, other.principal, None, started.id, 10, 0))


# --- parent links: decisions ------------------------------------------------------------------

async def _linked_family(tenant):
    """An org with an admin, a student (auth user + member + roster record) and a parent."""
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    s_user = tenant.auth.add(1, "hana@example.com")
    await tenant.add_member(1, org, s_user, "student")
    student = tenant.actor(1, "student", org, user_id=s_user)
    parent = tenant.actor(1, "parent", org)
    await tenant.add_member(1, org, parent.user_id, "parent")
    return org, admin, student, parent


async def test_parent_link_decisions(tenant) -> None:
    res = tenant.runtime.resources
    org, admin, student, parent = await _linked_family(tenant)
    teacher = tenant.actor(1, "teacher", org)
    other_student = tenant.actor(1, "student", org)

    await _raises("parent_link.parent_only", links.request_link(res, student.principal, "hana@example.com"))
    await _raises("parent_link.student_not_found", links.request_link(res, parent.principal, "nobody@example.com"))
    link = await links.request_link(res, parent.principal, "HANA@example.com")
    assert (link.status, link.parent_user_id, link.student_user_id) == ("pending", parent.user_id, student.user_id)
    await _raises("parent_link.exists", links.request_link(res, parent.principal, "hana@example.com"))
    assert (await links.check_parent_link(res, 1, org, parent.user_id, student.user_id)).status == "pending"

    # Who decides: never the parent; a teacher has no part; another student does not see it.
    await _raises("parent_link.parent_cannot_decide", links.approve_link(res, parent.principal, link.id))
    await _raises("parent_link.parent_cannot_decide", links.reject_link(res, parent.principal, link.id))
    await _raises("parent_link.forbidden", links.approve_link(res, teacher.principal, link.id))
    await _raises("parent_link.not_found", links.approve_link(res, other_student.principal, link.id))
    await _raises("parent_link.not_found", links.revoke_link(res, other_student.principal, link.id))
    await _raises("parent_link.not_found", links.approve_link(res, student.principal, uuid.uuid4()))
    await _raises("org.required", links.approve_link(res, tenant.actor(1, "zone_admin").principal, link.id))
    assert (await tenant.sql("SELECT status FROM tenant.parent_links WHERE id = :i", i=link.id))[0].status == "pending"

    # The student approves: stamped, announced, and now it counts.
    approved = await links.approve_link(res, student.principal, link.id)
    assert (approved.status, approved.decided_by, approved.revoked_at) == ("approved", student.user_id, None)
    assert approved.decided_at is not None
    await _raises("parent_link.not_pending", links.approve_link(res, student.principal, link.id))
    await _raises("parent_link.not_pending", links.reject_link(res, admin.principal, link.id))
    check = await links.check_parent_link(res, 1, org, parent.user_id, student.user_id)
    assert (check.approved, check.link_id, check.status) == (True, str(link.id), "approved")

    # The parent revokes an approved link; a revoked one cannot be revoked or decided again.
    revoked = await links.revoke_link(res, parent.principal, link.id)
    assert (revoked.status, revoked.revoked_by, revoked.decided_by) == ("revoked", parent.user_id, student.user_id)
    await _raises("parent_link.not_open", links.revoke_link(res, student.principal, link.id))
    await _raises("parent_link.not_pending", links.approve_link(res, student.principal, link.id))
    assert not (await links.check_parent_link(res, 1, org, parent.user_id, student.user_id)).approved

    # A new request; a zone admin (naming the org) rejects it; the student revokes a pending one.
    second = await links.request_link(res, parent.principal, "hana@example.com")
    zone_admin = tenant.actor(1, "zone_admin")
    rejected = await links.reject_link(res, zone_admin.principal, second.id, org)
    assert (rejected.status, rejected.decided_by) == ("rejected", zone_admin.user_id)
    await _raises("parent_link.not_open", links.revoke_link(res, admin.principal, second.id))
    third = await links.request_link(res, parent.principal, "hana@example.com")
    assert (await links.revoke_link(res, student.principal, third.id)).status == "revoked"
    check = await links.check_parent_link(res, 1, org, parent.user_id, student.user_id)
    assert (check.approved, check.link_id, check.status) == (False, str(third.id), "revoked")
    assert await links.check_parent_link(res, 1, await tenant.make_org(1), parent.user_id, student.user_id) == \
        links.LinkCheck(False, "", "none")

    assert [(link_.id, link_.status) for link_ in await links.list_links(res, admin.principal, None, None)] == [
        (third.id, "revoked"), (second.id, "rejected"), (link.id, "revoked")]
    assert await links.list_links(res, other_student.principal, None, None) == []
    await _raises("parent_link.forbidden", links.list_links(res, teacher.principal, None, None))

    events = await _events(tenant, "parent_link.")
    assert [(kind, payload["link_id"], payload["by"]) for kind, payload in events] == [
        ("parent_link.requested", str(link.id), str(parent.user_id)),
        ("parent_link.approved", str(link.id), str(student.user_id)),
        ("parent_link.revoked", str(link.id), str(parent.user_id)),
        ("parent_link.requested", str(second.id), str(parent.user_id)),
        ("parent_link.rejected", str(second.id), str(zone_admin.user_id)),
        ("parent_link.requested", str(third.id), str(parent.user_id)),
        ("parent_link.revoked", str(third.id), str(student.user_id)),
    ]
