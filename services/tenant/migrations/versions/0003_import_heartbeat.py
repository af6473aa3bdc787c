"""Roster imports get a heartbeat: the process running (or queueing) an import touches it every
few seconds, so an import whose process died is found (heartbeat too old) and ended as failed
instead of staying `running` forever.

Revision ID: 0003
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE tenant.roster_imports ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now()")
    # The sweep looks only at unfinished imports (a handful), per zone; tenant keys lead, as everywhere.
    op.execute("CREATE INDEX roster_imports_unfinished ON tenant.roster_imports (zone_id, org_id, heartbeat_at)"
               " WHERE status IN ('queued', 'running')")


def downgrade() -> None:
    op.execute("DROP INDEX tenant.roster_imports_unfinished")
    op.execute("ALTER TABLE tenant.roster_imports DROP COLUMN heartbeat_at")
