"""Row-level security of every classroom table, as the service's own database role: another org
sees and changes nothing; an anonymous (guest) context sees only the session whose code it names,
in its own zone; a monthly partition read directly is isolated the same way."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from services.classroom.tests.conftest import ClassroomApp
from services.classroom.tests.live_helpers import join, problem, show, start

TABLES = ("sessions", "participants", "problems", "session_cards", "answers", "messages", "session_logs",
          "moderation_words")


async def _seed(classroom: ClassroomApp) -> dict:
    school = await classroom.school()
    s = await start(classroom, school)
    p = await problem(classroom, school.teacher)
    a = await join(classroom, s["code"], "Ann")
    await show(classroom, school, s, p["id"])
    async with classroom.socket(s["code"], a["token"]) as c:
        await c.until("snapshot")
        await c.send("answer", {"card_no": 1, "answer": "3/4"})
        await c.until("answer_ack")
        await c.send("chat", {"body": "hello"})
        await c.until("chat_ack")
    await classroom.ok("PUT", "/api/v1/classroom/moderation/words/bad", school.admin, 201,
                       json={"lang": "en", "kind": "block"})
    return {"school": school, "session": s}


@pytest.fixture
async def app_sessions(classroom: ClassroomApp):
    engine = make_engine(classroom.db.app_url("classroom"), pool_size=2)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_another_org_sees_and_changes_nothing(classroom: ClassroomApp, app_sessions) -> None:
    seeded = await _seed(classroom)
    org = seeded["school"].org
    for table in TABLES:
        total = (await classroom.db.sql(f"SELECT count(*) FROM classroom.{table}"))[0][0]
        assert total >= 1, table
        async with tenant_transaction(app_sessions, TenantContext(1, org, "org_admin")) as s:
            own = (await s.execute(text(f"SELECT count(*) FROM classroom.{table}"))).scalar_one()
        assert own == total, table
        for ctx in (TenantContext(1, uuid.uuid4(), "org_admin"), TenantContext(2, org, "org_admin"),
                    TenantContext(1, uuid.uuid4(), "guest")):
            async with tenant_transaction(app_sessions, ctx) as s:
                assert (await s.execute(text(f"SELECT count(*) FROM classroom.{table}"))).scalar_one() == 0, table
                changed = await s.execute(text(f"UPDATE classroom.{table} SET zone_id = zone_id"))
                assert changed.rowcount == 0, table
                gone = await s.execute(text(f"DELETE FROM classroom.{table}"))
                assert gone.rowcount == 0, table
    # Writing a row into another org is refused by the policies' WITH CHECK.
    async with tenant_transaction(app_sessions, TenantContext(1, uuid.uuid4(), "org_admin")) as s:
        with pytest.raises(Exception, match="row-level security"):
            await s.execute(text("INSERT INTO classroom.problems (zone_id, org_id, type, difficulty, grade, prompt,"
                                 " answer) VALUES (1, :o, 'math', 1, 1, 'x', '1')"), {"o": org})


async def test_partitions_read_directly_are_isolated(classroom: ClassroomApp, app_sessions) -> None:
    await _seed(classroom)
    parts = [r[0] for r in await classroom.db.sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
        " WHERE p.relname IN ('messages', 'session_logs') AND p.relnamespace = 'classroom'::regnamespace")]
    assert any(p.startswith("messages_") for p in parts) and any(p.endswith("_default") for p in parts)
    async with tenant_transaction(app_sessions, TenantContext(1, uuid.uuid4(), "org_admin")) as s:
        for part in parts:
            assert (await s.execute(text(f'SELECT count(*) FROM classroom."{part}"'))).scalar_one() == 0, part


async def test_anonymous_lookup_sees_only_the_named_code(classroom: ClassroomApp, app_sessions) -> None:
    seeded = await _seed(classroom)
    code = seeded["session"]["code"]

    async def visible(zone: int, named: str | None) -> int:
        async with tenant_transaction(app_sessions, TenantContext(zone, None, "guest")) as s:
            if named is not None:
                await s.execute(text("SELECT set_config('app.session_code', :c, true)"), {"c": named})
            return int((await s.execute(text("SELECT count(*) FROM classroom.sessions"))).scalar_one())

    assert await visible(1, code) == 1
    assert await visible(1, None) == 0
    assert await visible(1, "ZZZZ2222") == 0
    assert await visible(2, code) == 0  # another zone's host
    async with tenant_transaction(app_sessions, TenantContext(1, None, "guest")) as s:
        await s.execute(text("SELECT set_config('app.session_code', :c, true)"), {"c": code})
        assert (await s.execute(text("UPDATE classroom.sessions SET locked = true"))).rowcount == 0
