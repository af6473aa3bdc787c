"""Row-level security on every auth table, through auth's app role on the real database:
another zone cannot see or change a zone's rows; a user sees only their own account and
sessions; the audit log is for admins; platform roles cannot be self-granted."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, system_transaction, tenant_transaction
from services.auth import accounts, audit_log, sessions
from services.auth.db_scope import scoped_transaction, user_transaction
from services.auth.users import queries as users_queries

TABLES = {"users": "id", "sessions": "user_id", "refresh_tokens": "user_id", "audit_logs": "user_id"}


@pytest.fixture
async def db(test_db):
    engine = make_engine(test_db.app_url("auth"), pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _account(db, zone_id: int, email: str) -> uuid.UUID:
    async with scoped_transaction(db, zone_id, "service") as s:
        user = await accounts.create(s, zone_id=zone_id, email=email, password_hash="x", display_name="U",
                                  phone_encrypted=None)
    async with user_transaction(db, zone_id, user.id, "student") as s:
        await sessions.create(s, zone_id=zone_id, user_id=user.id, org_id=None, role="student", mfa_verified=False,
                              client=None, ttl_days=30)
        await audit_log.record(s, zone_id=zone_id, action="test.event", user_id=user.id)
    return user.id


async def _visible(db, ctx: TenantContext | None, table: str) -> set[uuid.UUID]:
    column = TABLES[table]
    if ctx is None:
        async with system_transaction(db) as s:
            return set((await s.execute(text(f"SELECT {column} FROM auth.{table}"))).scalars())
    async with tenant_transaction(db, ctx) as s:
        return set((await s.execute(text(f"SELECT {column} FROM auth.{table}"))).scalars())


async def test_zones_and_users_are_isolated_in_every_table(db) -> None:
    a1, a2 = await _account(db, 1, "a1@example.com"), await _account(db, 1, "a2@example.com")
    b1 = await _account(db, 2, "b1@example.com")
    zone1_admin, zone2_admin = TenantContext(1, role="zone_admin"), TenantContext(2, role="zone_admin")
    for table in TABLES:
        assert await _visible(db, zone1_admin, table) == {a1, a2}, table
        assert await _visible(db, zone2_admin, table) == {b1}, table
        assert await _visible(db, None, table) == set(), table
        # a super admin too sees only the zone it acts in (issue #9)
        assert await _visible(db, TenantContext(1, role="super_admin"), table) == {a1, a2}, table
        assert await _visible(db, TenantContext(2, role="super_admin"), table) == {b1}, table
    # a user: their own account and sessions, no audit log
    me = TenantContext(1, role="student", user_id=a1)
    for table in ("users", "sessions", "refresh_tokens"):
        assert await _visible(db, me, table) == {a1}, table
    assert await _visible(db, me, "audit_logs") == set()

    # changes across zones touch nothing; inserts into another zone are refused
    for table in ("users", "sessions", "refresh_tokens"):
        column = TABLES[table]
        async with tenant_transaction(db, zone2_admin) as s:
            upd = await s.execute(text(f"UPDATE auth.{table} SET zone_id = zone_id WHERE {column} = :u"), {"u": a1})
            dele = await s.execute(text(f"DELETE FROM auth.{table} WHERE {column} = :u"), {"u": a1})
            assert (upd.rowcount, dele.rowcount) == (0, 0), table
        async with tenant_transaction(db, TenantContext(1, role="student", user_id=a1)) as s:
            upd = await s.execute(text(f"UPDATE auth.{table} SET zone_id = zone_id WHERE {column} = :u"), {"u": a2})
            assert upd.rowcount == 0, table
    for sql in (
        "INSERT INTO auth.users (zone_id, email, password_hash, display_name) VALUES (1, 'x@y.io', 'h', 'X')",
        "INSERT INTO auth.audit_logs (zone_id, action) VALUES (1, 'forged')",
    ):
        with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
            async with tenant_transaction(db, zone2_admin) as s:
                await s.execute(text(sql))
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        async with tenant_transaction(db, zone2_admin) as s:  # moving a zone-2 row into zone 1
            await s.execute(text("UPDATE auth.sessions SET zone_id = 1 WHERE user_id = :u"), {"u": b1})
    assert await _visible(db, zone1_admin, "users") == {a1, a2}


async def test_platform_roles_cannot_be_self_granted(db) -> None:
    a1 = await _account(db, 1, "climber@example.com")
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        async with user_transaction(db, 1, a1, "student") as s:
            await s.execute(text("UPDATE auth.users SET platform_role = 'zone_admin' WHERE id = :u"), {"u": a1})
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        async with scoped_transaction(db, 1, "service") as s:  # registration cannot create admins
            await accounts.create(s, zone_id=1, email="sneaky@example.com", password_hash="h", display_name="S",
                               phone_encrypted=None, platform_role="zone_admin")
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        async with tenant_transaction(db, TenantContext(1, role="zone_admin")) as s:  # zone admins make no super admins
            await s.execute(text("UPDATE auth.users SET platform_role = 'super_admin' WHERE id = :u"), {"u": a1})
    async with tenant_transaction(db, TenantContext(1, role="zone_admin")) as s:
        assert await users_queries.set_platform_role(s, 1, a1, "zone_admin")
    async with tenant_transaction(db, TenantContext(1, role="super_admin")) as s:
        assert await users_queries.set_platform_role(s, 1, a1, "super_admin")
    async with tenant_transaction(db, TenantContext(1, role="zone_admin")) as s:  # nor touch one
        assert not await users_queries.set_platform_role(s, 1, a1, None)
    # the directory scope (gRPC lookups) reads but never writes
    async with scoped_transaction(db, 1, "directory") as s:
        assert [r.id for r in await accounts.directory(s, 1, ["climber@example.com"], [])] == [a1]
        upd = await s.execute(text("UPDATE auth.users SET display_name = 'Hacked' WHERE id = :u"), {"u": a1})
        assert upd.rowcount == 0
