"""Row-level security on every tenant table, straight at the database through the app role: a
request context of one org cannot see, change, delete or create another org's rows, and zone
admins are confined to their zone. This is the second wall behind the endpoint checks."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, system_transaction, tenant_transaction
from services.tenant.tests.conftest import STUDENT_PHONE_COLUMNS, sealed_phone

# table -> INSERT of one row for org :o in zone :z (:imp: an import of that org, :u: a fresh uuid)
ROWS = {
    "memberships": "INSERT INTO tenant.memberships (zone_id, org_id, user_id, role) VALUES (:z, :o, :u, 'teacher')",
    "classes": "INSERT INTO tenant.classes (zone_id, org_id, grade, name) VALUES (:z, :o, 1, :n)",
    "students": f"INSERT INTO tenant.students (zone_id, org_id, name, grade, {STUDENT_PHONE_COLUMNS})"
                " VALUES (:z, :o, :n, 1, :pe, :pi, :kid)",
    "teachers": "INSERT INTO tenant.teachers (zone_id, org_id, name) VALUES (:z, :o, :n)",
    "parents": "INSERT INTO tenant.parents (zone_id, org_id, name) VALUES (:z, :o, :n)",
    "parent_links": "INSERT INTO tenant.parent_links (zone_id, org_id, parent_user_id, student_user_id)"
                    " VALUES (:z, :o, :u, gen_random_uuid())",
    "roster_imports": "INSERT INTO tenant.roster_imports (id, zone_id, org_id, created_by, filename, size_bytes)"
                      " VALUES (:u, :z, :o, :u, 'f.xlsx', 1)",
    "roster_import_errors": "INSERT INTO tenant.roster_import_errors (zone_id, org_id, import_id, row_number,"
                            " column_name, reason) VALUES (:z, :o, :imp, 2, :n, 'bad')",
    # A code needs its student: both rows are written under the same tenant context.
    "parent_codes": f"WITH st AS (INSERT INTO tenant.students (zone_id, org_id, name, grade, {STUDENT_PHONE_COLUMNS})"
                    " VALUES (:z, :o, :n, 1, :pe, :pi, :kid) RETURNING id)"
                    " INSERT INTO tenant.parent_codes (zone_id, org_id, student_id, code_hash, created_by, expires_at)"
                    " SELECT :z, :o, id, decode(md5(:n), 'hex'), :u, now() + interval '1 day' FROM st",
}


@pytest.fixture
async def sessions(test_db):
    engine = make_engine(test_db.app_url("tenant"), pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _org(sessions, zone_id: int) -> tuple[uuid.UUID, uuid.UUID]:
    org, imp = uuid.uuid4(), uuid.uuid4()
    async with tenant_transaction(sessions, TenantContext(zone_id, role="super_admin")) as s:
        await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:o, :z, 'Org')"), {"o": org, "z": zone_id})
        await s.execute(text(ROWS["roster_imports"]), {"z": zone_id, "o": org, "u": imp})
    return org, imp


async def _insert(sessions, ctx: TenantContext, table: str, zone_id: int, org: uuid.UUID, imp: uuid.UUID) -> None:
    async with tenant_transaction(sessions, ctx) as s:
        await s.execute(text(ROWS[table]), {"z": zone_id, "o": org, "u": uuid.uuid4(), "imp": imp,
                                            "n": uuid.uuid4().hex[:8], **sealed_phone()})


async def _orgs_seen(sessions, ctx: TenantContext | None, table: str) -> set[uuid.UUID]:
    if ctx is None:
        async with system_transaction(sessions) as s:
            return set((await s.execute(text(f"SELECT org_id FROM tenant.{table}"))).scalars())
    async with tenant_transaction(sessions, ctx) as s:
        return set((await s.execute(text(f"SELECT org_id FROM tenant.{table}"))).scalars())


@pytest.mark.parametrize("table", sorted(ROWS))
async def test_rls_isolates_table(sessions, test_db, table: str) -> None:
    (a, imp_a), (b, imp_b), (c, imp_c) = await _org(sessions, 1), await _org(sessions, 1), await _org(sessions, 2)
    for zone_id, org, imp in ((1, a, imp_a), (1, b, imp_b), (2, c, imp_c)):
        await _insert(sessions, TenantContext(zone_id, org, "org_admin"), table, zone_id, org, imp)
    ctx_a = TenantContext(1, a, "org_admin", uuid.uuid4())

    assert await _orgs_seen(sessions, ctx_a, table) == {a}
    assert await _orgs_seen(sessions, TenantContext(1, b, "teacher"), table) == {b}
    assert await _orgs_seen(sessions, TenantContext(2, a, "org_admin"), table) == set()  # a's id claimed in zone 2
    assert await _orgs_seen(sessions, TenantContext(1, role="zone_admin"), table) == {a, b}
    assert await _orgs_seen(sessions, TenantContext(2, role="zone_admin"), table) == {c}
    assert await _orgs_seen(sessions, TenantContext(1, role="super_admin"), table) == {a, b}  # zone-bound too
    assert await _orgs_seen(sessions, TenantContext(2, role="super_admin"), table) == {c}
    assert await _orgs_seen(sessions, None, table) == set()

    async with tenant_transaction(sessions, ctx_a) as s:
        upd = await s.execute(text(f"UPDATE tenant.{table} SET zone_id = zone_id WHERE org_id <> :a"), {"a": a})
        dele = await s.execute(text(f"DELETE FROM tenant.{table} WHERE org_id <> :a"), {"a": a})
        assert (upd.rowcount, dele.rowcount) == (0, 0)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        await _insert(sessions, ctx_a, table, 1, b, imp_b)
    # Moving one's own rows into another org is refused too (WITH CHECK).
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        async with tenant_transaction(sessions, ctx_a) as s:
            await s.execute(text(f"UPDATE tenant.{table} SET org_id = :b WHERE org_id = :a"), {"a": a, "b": b})
    # A zone admin cannot write into another zone.
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        await _insert(sessions, TenantContext(1, role="zone_admin"), table, 2, c, imp_c)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        await _insert(sessions, TenantContext(1, role="super_admin"), table, 2, c, imp_c)
    counts = dict(await test_db.sql(f"SELECT org_id, count(*) FROM tenant.{table} GROUP BY org_id"))
    n = 2 if table == "roster_imports" else 1  # _org made one import already
    assert counts == {a: n, b: n, c: n}


async def test_every_tenant_table_has_forced_rls_and_zone_org_leading_indexes(test_db) -> None:
    import psycopg

    with psycopg.connect(test_db.admin_url) as conn:
        tables = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = 'tenant' AND c.relkind = 'r'").fetchall()
        indexes = conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'tenant'").fetchall()
    infra = {"zones", "outbox", "inbox", "alembic_version", "mesh_probes", "orgs"}
    tenant_tables = {name for name, _, _ in tables} - infra
    assert set(ROWS) <= tenant_tables
    for name, rls, forced in tables:
        if name in tenant_tables | {"orgs", "mesh_probes"}:
            assert rls and forced, name
    # The one exception: ListMemberships finds a user's orgs at login, across the zone's orgs.
    zone_led = {"memberships_zone_user"}
    for table, index, definition in indexes:
        if index in zone_led:
            assert definition.split("(", 1)[1].startswith("zone_id, "), definition
        elif table in tenant_tables:
            cols = definition.split("(", 1)[1]
            assert cols.startswith("zone_id, org_id"), (index, definition)
