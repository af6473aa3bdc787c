"""Bulk roster import: 5,000 rows with 2% bad ones, re-import idempotent, soft-deleted students
restored, progress answering (from Redis) while the job runs, malformed uploads refused with a
4xx and nothing written."""
from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile

import pytest

from services.tenant.roster_import.sample import sample_row, write_roster
from services.tenant.tests.conftest import TEST_PII

ROWS = 5000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _upload(tenant, actor, content: bytes, filename: str = "roster.xlsx"):
    return await tenant.client.post("/api/v1/rosters/imports", files={"file": (filename, content, XLSX)},
                                    headers=actor.headers)


async def _wait(tenant, actor, import_id: str, poll: float = 0.01) -> tuple[dict, list[dict]]:
    """Poll the Redis-only progress endpoint until the job ends; return the DB detail and the polls.
    (The deadline only bounds a hang: how fast an import runs is the benchmark's business.)"""
    seen = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        resp = await tenant.client.get(f"/api/v1/jobs/{import_id}/progress", headers=actor.headers)
        assert resp.status_code == 200, resp.text
        seen.append(resp.json())
        if seen[-1]["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(poll)
    detail = await tenant.client.get(f"/api/v1/rosters/imports/{import_id}?errors_limit=10000", headers=actor.headers)
    assert detail.status_code == 200, detail.text
    return detail.json(), seen


async def _live_students(tenant, org) -> int:
    return (await tenant.sql("SELECT count(*) AS n FROM tenant.students WHERE org_id = :o AND deleted_at IS NULL",
                             o=org))[0].n


async def test_import_5000_rows_reports_bad_rows_restores_and_is_idempotent(tenant, tmp_path) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    path = tmp_path / "roster.xlsx"
    bad = write_roster(path, ROWS, bad_every=50)
    assert len(bad) == ROWS // 50  # 2%

    # Row of sample index 6 already exists (other grade) -> updated; index 7 was soft-deleted -> restored.
    existing = sample_row(6)
    resp = await tenant.client.post("/api/v1/rosters/students", headers=admin.headers, json={
        "name": existing[0], "grade": 12 if existing[1] != 12 else 11, "parent_phone": existing[2]})
    assert resp.status_code == 201, resp.text
    deleted = sample_row(7)
    resp = await tenant.client.post("/api/v1/rosters/students", headers=admin.headers, json={
        "name": deleted[0], "grade": deleted[1], "parent_phone": deleted[2]})
    deleted_id = resp.json()["id"]
    assert (await tenant.client.delete(f"/api/v1/rosters/students/{deleted_id}", headers=admin.headers)).status_code == 204

    resp = await _upload(tenant, admin, path.read_bytes())
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["total_rows"] == ROWS and accepted["status"] == "queued"
    assert accepted["ignored_columns"] == ["Memo"]
    detail, polls = await _wait(tenant, admin, accepted["id"])

    # The progress endpoint answered while the job was still going, with Redis-only fields.
    assert any(p["status"] in ("queued", "running") for p in polls), polls[:3]
    running = [p for p in polls if p["status"] == "running" and p["processed"]]
    assert all(p["total"] == ROWS and 0 <= p["processed"] <= ROWS for p in running)
    assert polls[-1]["status"] == "succeeded" and polls[-1]["errors"] == len(bad)

    good = ROWS - len(bad)
    assert detail["status"] == "succeeded", detail
    assert detail["processed_rows"] == ROWS and detail["error_count"] == len(bad)
    assert (detail["created_count"], detail["updated_count"], detail["restored_count"]) == (good - 2, 1, 1)
    assert {(e["row"], e["column"]) for e in detail["errors"]} == set(bad)
    assert detail["errors_total"] == len(bad)
    assert all(e["reason"] for e in detail["errors"])
    assert await _live_students(tenant, org) == good
    # The optional parent email column (학부모 이메일) is stored for the good rows that have one.
    bad_rows = {row for row, _ in bad}
    with_parent_email = sum(1 for i in range(ROWS) if i + 2 not in bad_rows and sample_row(i)[5])
    stored = await tenant.sql("SELECT count(*) AS n, count(DISTINCT parent_email_index) AS d FROM tenant.students"
                              " WHERE org_id = :o AND parent_email_index IS NOT NULL", o=org)
    assert stored[0].n == with_parent_email and 0 < stored[0].d < with_parent_email  # siblings share one
    assert (await tenant.sql("SELECT deleted_at FROM tenant.students WHERE id = :i", i=deleted_id))[0].deleted_at is None
    classes = await tenant.sql("SELECT grade, name FROM tenant.classes WHERE org_id = :o", o=org)
    assert len(classes) == 12 * 4
    completed = await tenant.sql("SELECT payload FROM tenant.outbox WHERE event_type = 'roster.import.completed'")
    assert completed[0].payload["created"] == good - 2 and completed[0].payload["error_rows"] == len(bad)

    # Same file again: nothing changes.
    before = await tenant.sql("SELECT id, grade, class_id, updated_at FROM tenant.students ORDER BY id")
    resp = await _upload(tenant, admin, path.read_bytes())
    again, _ = await _wait(tenant, admin, resp.json()["id"])
    assert again["status"] == "succeeded"
    assert (again["created_count"], again["updated_count"], again["restored_count"], again["unchanged_count"],
            again["error_count"]) == (0, 0, 0, good, len(bad))
    after = await tenant.sql("SELECT id, grade, class_id, updated_at FROM tenant.students ORDER BY id")
    assert before == after

    listed = (await tenant.client.get("/api/v1/rosters/imports", headers=admin.headers)).json()["items"]
    assert [i["id"] for i in listed] == [resp.json()["id"], accepted["id"]]
    # Another org's admin sees neither the import nor its progress.
    other = tenant.actor(1, "org_admin", await tenant.make_org(1))
    assert (await tenant.client.get(f"/api/v1/rosters/imports/{accepted['id']}", headers=other.headers)).status_code == 404
    assert (await tenant.client.get(f"/api/v1/jobs/{accepted['id']}/progress", headers=other.headers)).status_code == 404


async def test_duplicate_rows_in_one_file_are_reported(tenant, tmp_path) -> None:
    import openpyxl

    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["name", "grade", "parent_phone"])
    ws.append(["Lee Hana", 3, "010-1111-2222"])
    ws.append(["Lee Hana", "3학년", "01011112222"])  # same key after normalising
    ws.append([None, None, None])  # blank rows are skipped
    ws.append(["Choi Jun", 4.0, 1098765432])  # numbers as Excel stores them
    buf = io.BytesIO()
    wb.save(buf)
    # Small chunks so the duplicate falls in another chunk than the original.
    tenant.runtime.app.state.roster_imports.chunk_rows = 1
    resp = await _upload(tenant, admin, buf.getvalue())
    detail, _ = await _wait(tenant, admin, resp.json()["id"])
    assert detail["created_count"] == 2 and detail["error_count"] == 1
    assert detail["errors"] == [{"row": 3, "column": "name", "reason": "duplicate of row 2 (same name and parent_phone)"}]
    phones = {r.name: TEST_PII.open(r.parent_phone_encrypted)
              for r in await tenant.sql("SELECT name, parent_phone_encrypted FROM tenant.students")}
    assert phones == {"Lee Hana": "01011112222", "Choi Jun": "1098765432"}


def _xlsx(rows: list[list]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(("content", "status", "code"), [
    (os.urandom(10 * 1024 * 1024), 415, "roster_import.not_xlsx"),
    (b"", 400, "roster_import.empty_file"),
    (b"name,grade,parent_phone\nKim,1,0101234567\n", 415, "roster_import.not_xlsx"),
    (_zip({"hello.txt": b"hi"}), 415, "roster_import.not_xlsx"),
    (_zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"garbage"}), 422, "roster_import.unreadable"),
    (_xlsx([["name", "grade"], ["Kim", 1]]), 422, "roster_import.missing_columns"),
    (_xlsx([["name", "grade", "parent_phone"]]), 422, "roster_import.no_rows"),
    (_xlsx([]), 422, "roster_import.missing_columns"),
    (b"PK" + os.urandom(21 * 1024 * 1024), 413, "roster_import.too_large"),
], ids=["10MB-garbage", "empty", "csv", "zip-not-xlsx", "broken-xlsx", "missing-column", "header-only", "no-rows",
        "over-20MB"])
async def test_malformed_upload_is_4xx_and_writes_nothing(tenant, content: bytes, status: int, code: str) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    resp = await _upload(tenant, admin, content)
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code and resp.headers["content-type"].startswith("application/problem+json")
    if code == "roster_import.missing_columns":
        assert "parent_phone" in body["missing"]
    for table in ("roster_imports", "roster_import_errors", "students", "classes", "outbox"):
        assert await tenant.sql(f"SELECT 1 FROM tenant.{table}") == [], table
    assert [k async for k in tenant.runtime.resources.redis.scan_iter(match=f"{tenant.runtime.settings.redis_key_prefix}:*job*")] == []


async def test_upload_without_file_field_is_422(tenant) -> None:
    admin = tenant.actor(1, "org_admin", await tenant.make_org(1))
    resp = await tenant.client.post("/api/v1/rosters/imports", data={"x": "1"}, headers=admin.headers)
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"


async def test_parent_email_is_validated_kept_when_blank_and_updated_when_changed(tenant) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    header = ["name", "grade", "parent_phone", "Parent Email"]
    first = _xlsx([header, ["Kim Ara", 3, "010-2222-0001", " Mom.Kim@Example.com "],
                   ["Kim Bo", 5, "010-2222-0002", "mom.kim@example.com"],
                   ["Lee Cy", 2, "010-2222-0003", "not an email"],
                   ["Park Di", 1, "010-2222-0004", None]])
    resp = await _upload(tenant, admin, first)
    assert resp.status_code == 202 and "parent_email" in resp.json()["columns"], resp.text
    detail, _ = await _wait(tenant, admin, resp.json()["id"])
    assert detail["created_count"] == 3
    assert detail["errors"] == [{"row": 4, "column": "parent_email", "reason": "must be an email address"}]
    emails = {r.name: TEST_PII.open(r.parent_email_encrypted)
              for r in await tenant.sql("SELECT name, parent_email_encrypted FROM tenant.students")}
    assert emails == {"Kim Ara": "mom.kim@example.com", "Kim Bo": "mom.kim@example.com", "Park Di": None}

    # Again: a blank cell keeps the stored email (unchanged); a new one replaces it (updated).
    again = _xlsx([header, ["Kim Ara", 3, "010-2222-0001", None], ["Kim Bo", 5, "010-2222-0002", "dad@example.com"],
                   ["Park Di", 1, "010-2222-0004", None]])
    detail, _ = await _wait(tenant, admin, (await _upload(tenant, admin, again)).json()["id"])
    assert (detail["updated_count"], detail["unchanged_count"], detail["error_count"]) == (1, 2, 0)
    emails = {r.name: TEST_PII.open(r.parent_email_encrypted)
              for r in await tenant.sql("SELECT name, parent_email_encrypted FROM tenant.students")}
    assert emails == {"Kim Ara": "mom.kim@example.com", "Kim Bo": "dad@example.com", "Park Di": None}
