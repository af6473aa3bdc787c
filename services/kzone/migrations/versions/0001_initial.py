"""K-Zone schema start: mesh probe receipts (zone-level RLS) and outbox/inbox.

Revision ID: 0001
"""
from alembic import op

from megacity.db.rls import tenant_rls_statements
from megacity.events.outbox import outbox_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE kzone.mesh_probe_receipts (
            probe_id uuid PRIMARY KEY,
            zone_id integer NOT NULL,
            entry_service text NOT NULL,
            event_id text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX mesh_probe_receipts_zone ON kzone.mesh_probe_receipts (zone_id, received_at)")
    for stmt in [*tenant_rls_statements("kzone", "mesh_probe_receipts", org_column=None), *outbox_ddl("kzone")]:
        op.execute(stmt)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS kzone.mesh_probe_receipts, kzone.outbox, kzone.inbox CASCADE")
