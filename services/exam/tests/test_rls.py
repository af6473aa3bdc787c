"""Row-level security on every exam table: as the service's own DB role (no BYPASSRLS, not the
owner), org B's context neither sees nor changes org A's rows, no context sees nothing, and the
partitions of attempts/responses are isolated the same when read directly."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from megacity.db import TenantContext, make_engine, make_sessionmaker, system_transaction, tenant_transaction
from services.exam.tests.conftest import ExamApp, make_bank, make_exam

TABLES = ("item_banks", "items", "item_bank_snapshots", "exams", "attempts", "active_attempts", "responses",
          "item_imports", "item_import_errors")


async def test_other_org_cannot_see_or_change_rows(exam_app: ExamApp) -> None:
    app = exam_app
    teacher, student = app.actor("teacher"), app.actor("student")
    bank, items = await make_bank(app, teacher, 2)
    exam = await make_exam(app, teacher, bank, items=items)
    attempt = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    await app.ok("POST", f"/api/v1/attempts/{attempt['id']}/responses", student, 201,
                 json={"item_id": items[0]["id"], "answer": "B"})
    await app.call("POST", f"/api/v1/items/imports?bank_id={bank['id']}", teacher,
                   files={"file": ("x.csv", b"code,stem,a,b,answer_key\nZ1,s,oops,0,B\n")})

    engine = make_engine(app.db.app_url("exam"))
    sessions = make_sessionmaker(engine)
    ctx_a = TenantContext(zone_id=1, org_id=app.org_a, role="teacher")
    ctx_b = TenantContext(zone_id=1, org_id=app.org_b, role="teacher")
    other_zone = TenantContext(zone_id=2, org_id=app.org_a, role="zone_admin")
    try:
        for table in TABLES:
            async with tenant_transaction(sessions, ctx_a) as s:
                assert (await s.execute(text(f"SELECT count(*) FROM exam.{table}"))).scalar_one() >= 1, table
            for ctx in (ctx_b, other_zone):
                async with tenant_transaction(sessions, ctx) as s:
                    assert (await s.execute(text(f"SELECT count(*) FROM exam.{table}"))).scalar_one() == 0, table
                    assert (await s.execute(text(f"UPDATE exam.{table} SET zone_id = zone_id"))).rowcount == 0, table
                    assert (await s.execute(text(f"DELETE FROM exam.{table}"))).rowcount == 0, table
            async with system_transaction(sessions) as s:
                assert (await s.execute(text(f"SELECT count(*) FROM exam.{table}"))).scalar_one() == 0, table
        # Writing a row into org A from org B's context is refused by the policy's WITH CHECK.
        with pytest.raises(DBAPIError, match="row-level security"):
            async with tenant_transaction(sessions, ctx_b) as s:
                await s.execute(text("INSERT INTO exam.item_banks (zone_id, org_id, name) VALUES (1, :o, 'x')"),
                                {"o": app.org_a})
        with pytest.raises(DBAPIError, match="row-level security"):
            async with tenant_transaction(sessions, ctx_b) as s:
                await s.execute(text("UPDATE exam.item_banks SET org_id = :a"), {"a": app.org_a})
                await s.execute(text("INSERT INTO exam.item_banks (zone_id, org_id, name) VALUES (1, :b, 'y')"),
                                {"b": app.org_b})
                await s.execute(text("UPDATE exam.item_banks SET org_id = :a WHERE name = 'y'"), {"a": app.org_a})
        # The partitions themselves carry the same policies: reading one directly is isolated too.
        async with tenant_transaction(sessions, ctx_a) as s:
            parts = (await s.execute(text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent IN ('exam.attempts'::regclass, 'exam.responses'::regclass)"))).scalars().all()
            assert len(parts) >= 4
            seen_a = sum([(await s.execute(text(f'SELECT count(*) FROM exam."{p}"'))).scalar_one() for p in parts])
            assert seen_a == 2  # the attempt and its response
        for ctx in (ctx_b, other_zone):
            async with tenant_transaction(sessions, ctx) as s:
                for part in parts:
                    assert (await s.execute(text(f'SELECT count(*) FROM exam."{part}"'))).scalar_one() == 0, part
        # Org A sees its attempt through the parent (the row is there).
        async with tenant_transaction(sessions, ctx_a) as s:
            assert (await s.execute(text("SELECT count(*) FROM exam.attempts WHERE id = :id"),
                                    {"id": uuid.UUID(attempt["id"])})).scalar_one() == 1
    finally:
        await engine.dispose()
