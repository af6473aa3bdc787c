"""Zones (reference data from the registry), orgs, memberships, mesh probes, outbox/inbox.

Revision ID: 0001
"""
from alembic import op

from megacity.db.rls import tenant_rls_statements
from megacity.events.outbox import outbox_ddl
from megacity.zones import registry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE tenant.zones (
            id integer PRIMARY KEY,
            key text NOT NULL UNIQUE,
            name text NOT NULL,
            domains text[] NOT NULL
        )""")
    for z in registry().zones:
        op.get_bind().exec_driver_sql(
            "INSERT INTO tenant.zones (id, key, name, domains) VALUES (%(id)s, %(key)s, %(name)s, %(domains)s)",
            {"id": z.id, "key": z.key, "name": z.name, "domains": z.domains})
    op.execute("""
        CREATE TABLE tenant.orgs (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL REFERENCES tenant.zones(id),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            plan text NOT NULL DEFAULT 'free',
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (zone_id, id)
        )""")
    op.execute("CREATE INDEX orgs_zone_name ON tenant.orgs (zone_id, name)")
    op.execute("""
        CREATE TABLE tenant.memberships (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            user_id uuid NOT NULL,
            role text NOT NULL CHECK (role IN ('zone_admin', 'org_admin', 'teacher', 'student', 'parent', 'guest')),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, user_id),
            FOREIGN KEY (zone_id, org_id) REFERENCES tenant.orgs (zone_id, id)
        )""")
    op.execute("CREATE INDEX memberships_user ON tenant.memberships (zone_id, org_id, user_id, role)")
    op.execute("""
        CREATE TABLE tenant.mesh_probes (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL REFERENCES tenant.zones(id),
            entry_service text NOT NULL,
            note text NOT NULL DEFAULT '',
            trace_id text,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX mesh_probes_zone ON tenant.mesh_probes (zone_id, created_at)")
    for stmt in [
        *tenant_rls_statements("tenant", "orgs", org_column="id"),
        *tenant_rls_statements("tenant", "memberships"),
        *tenant_rls_statements("tenant", "mesh_probes", org_column=None),
        *outbox_ddl("tenant"),
    ]:
        op.execute(stmt)


def downgrade() -> None:
    for table in ("mesh_probes", "memberships", "orgs", "zones", "outbox", "inbox"):
        op.execute(f"DROP TABLE IF EXISTS tenant.{table} CASCADE")
