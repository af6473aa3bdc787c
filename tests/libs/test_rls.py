"""Row-level security as the services see it: through the app role, on the real database."""
from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, system_transaction, tenant_transaction
from megacity.testing import TestDatabase

INFRA_TABLES = {"outbox", "inbox", "alembic_version"}


@pytest.fixture
async def tenant_sessions(test_db: TestDatabase):
    engine = make_engine(test_db.app_url("tenant"), pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _make_orgs(sessions, zone_id: int = 1) -> tuple[uuid.UUID, uuid.UUID]:
    a, b = uuid.uuid4(), uuid.uuid4()
    async with tenant_transaction(sessions, TenantContext(zone_id, role="super_admin")) as s:
        for org in (a, b):
            await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, :z, 'Org')"),
                            {"id": org, "z": zone_id})
    return a, b


async def _add_member(sessions, zone_id: int, org: uuid.UUID) -> uuid.UUID:
    user = uuid.uuid4()
    async with tenant_transaction(sessions, TenantContext(zone_id, org, role="org_admin")) as s:
        await s.execute(text("INSERT INTO tenant.memberships (zone_id, org_id, user_id, role)"
                             " VALUES (:z, :o, :u, 'student')"), {"z": zone_id, "o": org, "u": user})
    return user


async def _members(sessions, ctx: TenantContext | None) -> set[uuid.UUID]:
    if ctx is None:
        async with system_transaction(sessions) as s:
            return set((await s.execute(text("SELECT user_id FROM tenant.memberships"))).scalars())
    async with tenant_transaction(sessions, ctx) as s:
        return set((await s.execute(text("SELECT user_id FROM tenant.memberships"))).scalars())


async def test_other_org_rows_are_invisible(tenant_sessions) -> None:
    org_a, org_b = await _make_orgs(tenant_sessions)
    user_a = await _add_member(tenant_sessions, 1, org_a)
    user_b = await _add_member(tenant_sessions, 1, org_b)
    assert await _members(tenant_sessions, TenantContext(1, org_a, "org_admin")) == {user_a}
    assert await _members(tenant_sessions, TenantContext(1, org_b, "teacher")) == {user_b}
    # Same org id claimed under another zone sees nothing either.
    assert await _members(tenant_sessions, TenantContext(2, org_a, "org_admin")) == set()


async def test_no_tenant_context_sees_no_rows(tenant_sessions) -> None:
    org_a, _ = await _make_orgs(tenant_sessions)
    await _add_member(tenant_sessions, 1, org_a)
    assert await _members(tenant_sessions, None) == set()
    async with system_transaction(tenant_sessions) as s:
        assert (await s.execute(text("SELECT count(*) FROM tenant.orgs"))).scalar_one() == 0


async def test_other_org_rows_are_unwritable(tenant_sessions) -> None:
    org_a, org_b = await _make_orgs(tenant_sessions)
    user_b = await _add_member(tenant_sessions, 1, org_b)
    ctx_a = TenantContext(1, org_a, "org_admin")
    async with tenant_transaction(tenant_sessions, ctx_a) as s:
        upd = await s.execute(text("UPDATE tenant.memberships SET role = 'teacher' WHERE user_id = :u"), {"u": user_b})
        dele = await s.execute(text("DELETE FROM tenant.memberships WHERE user_id = :u"), {"u": user_b})
        assert upd.rowcount == 0 and dele.rowcount == 0
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        async with tenant_transaction(tenant_sessions, ctx_a) as s:
            await s.execute(text("INSERT INTO tenant.memberships (zone_id, org_id, user_id, role)"
                                 " VALUES (1, :o, :u, 'student')"), {"o": org_b, "u": uuid.uuid4()})
    # Moving one's own row into another org is refused too (WITH CHECK).
    user_a = await _add_member(tenant_sessions, 1, org_a)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        async with tenant_transaction(tenant_sessions, ctx_a) as s:
            await s.execute(text("UPDATE tenant.memberships SET org_id = :o WHERE user_id = :u"),
                            {"o": org_b, "u": user_a})
    assert await _members(tenant_sessions, TenantContext(1, org_b, "org_admin")) == {user_b}


@pytest.mark.parametrize("role", ["zone_admin", "super_admin"])
async def test_zone_level_roles_see_and_change_own_zone_only(tenant_sessions, role: str) -> None:
    """Issue #9: the super_admin policy had no zone condition. The request's zone bounds every
    role: a super admin acts on another zone only through that zone's host (and context)."""
    org_a, org_b = await _make_orgs(tenant_sessions, zone_id=1)
    (org_c, _) = await _make_orgs(tenant_sessions, zone_id=2)
    users = {await _add_member(tenant_sessions, 1, org_a), await _add_member(tenant_sessions, 1, org_b)}
    other = await _add_member(tenant_sessions, 2, org_c)
    assert await _members(tenant_sessions, TenantContext(1, None, role)) == users
    assert await _members(tenant_sessions, TenantContext(2, None, role)) == {other}
    async with tenant_transaction(tenant_sessions, TenantContext(1, None, role)) as s:
        changed = await s.execute(text("UPDATE tenant.memberships SET role = 'teacher' WHERE user_id = :u"), {"u": other})
        assert changed.rowcount == 0
        assert (await s.execute(text("DELETE FROM tenant.orgs WHERE id = :o"), {"o": org_c})).rowcount == 0
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        async with tenant_transaction(tenant_sessions, TenantContext(1, None, role)) as s:
            await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, 2, 'Planted')"),
                            {"id": uuid.uuid4()})
    assert await _members(tenant_sessions, TenantContext(2, None, role)) == {other}


async def test_context_does_not_leak_to_next_transaction(tenant_sessions) -> None:
    org_a, _ = await _make_orgs(tenant_sessions)
    await _add_member(tenant_sessions, 1, org_a)
    async with tenant_transaction(tenant_sessions, TenantContext(1, org_a, "org_admin")):
        pass
    async with system_transaction(tenant_sessions) as s:
        row = (await s.execute(text("SELECT current_setting('app.org_id', true) AS o"))).one()
        assert row.o in ("", None)


def test_app_roles_cannot_bypass_rls_and_tenant_tables_have_policies(test_db: TestDatabase) -> None:
    """Guard for every service: app roles are not owners and lack BYPASSRLS, and every table
    with a zone_id column is ENABLE + FORCE row-level security with (at least) the three policies."""
    with psycopg.connect(test_db.admin_url) as conn:
        roles = conn.execute("SELECT rolname, rolbypassrls, rolsuper FROM pg_roles WHERE rolname LIKE 'mc\\_%\\_app'").fetchall()
        assert roles and all(not bypass and not sup for _, bypass, sup in roles)
        tables = conn.execute("""
            SELECT c.relnamespace::regnamespace::text, c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   pg_get_userbyid(c.relowner),
                   (SELECT array_agg(polname ORDER BY polname) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'zone_id' AND NOT a.attisdropped
            WHERE c.relkind IN ('r', 'p') AND c.relnamespace::regnamespace::text IN
                  ('auth', 'tenant', 'exam', 'cat', 'kzone', 'inference')""").fetchall()
    tenant_tables = [t for t in tables if t[1] not in INFRA_TABLES]
    assert {(s, t) for s, t, *_ in tenant_tables} >= {("tenant", "memberships"), ("tenant", "orgs")}
    for schema, table, enabled, forced, owner, policies in tenant_tables:
        assert enabled and forced, f"{schema}.{table} lacks ENABLE/FORCE RLS"
        assert owner == f"mc_{schema}_owner", f"{schema}.{table} owned by {owner}"
        # The three base policies; a table may add restrictive ones on top (e.g. auth.users).
        assert {"super_admin", "tenant_isolation", "zone_admin"} <= set(policies or []), f"{schema}.{table}: {policies}"


def test_every_permissive_policy_is_bounded_by_the_zone(test_db: TestDatabase) -> None:
    """Guard for every service, present and future (issue #9): PostgreSQL ORs permissive
    policies, so one permissive policy without the zone condition opens every zone."""
    with psycopg.connect(test_db.admin_url) as conn:
        policies = conn.execute("""
            SELECT schemaname, tablename, policyname, coalesce(qual, ''), coalesce(with_check, '')
            FROM pg_policies WHERE permissive = 'PERMISSIVE'
              AND schemaname IN ('auth', 'tenant', 'exam', 'cat', 'kzone', 'inference')""").fetchall()
    assert len(policies) >= 3 * 10
    for schema, table, name, using, check in policies:
        clauses = [c for c in (using, check) if c]  # a FOR SELECT policy has no WITH CHECK, FOR INSERT no USING
        assert clauses, f"{schema}.{table} policy {name} has no condition at all"
        for clause in clauses:
            assert "current_setting('app.zone_id'" in clause, f"{schema}.{table} policy {name}: {clause}"
