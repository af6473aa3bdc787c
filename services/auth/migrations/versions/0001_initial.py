"""Auth schema start: outbox/inbox (credentials, sessions and keys arrive with the auth issue).

Revision ID: 0001
"""
from alembic import op

from megacity.events.outbox import outbox_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for stmt in outbox_ddl("auth"):
        op.execute(stmt)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS auth.outbox, auth.inbox CASCADE")
