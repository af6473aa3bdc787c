"""Zones removed from the registry are retired, never deleted (issue #11: adding a zone).

Zone rows are kept in step with `zones.yaml` after every upgrade (`services.tenant.zones.sync`);
a zone that leaves the registry keeps its row (its orgs and their rows still reference it, and
its id stays reserved so it is never handed to another zone) with `retired_at` set.

Revision ID: 0005
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE tenant.zones ADD COLUMN retired_at timestamptz")
    op.execute("COMMENT ON COLUMN tenant.zones.retired_at IS"
               " 'set when the zone left libs/megacity/zones.yaml; NULL while it is in the registry'")


def downgrade() -> None:
    op.execute("ALTER TABLE tenant.zones DROP COLUMN retired_at")
