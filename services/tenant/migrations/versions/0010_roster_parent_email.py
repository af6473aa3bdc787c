"""A parent email per roster student (issue #13 §2): the roster's optional `parent_email` column.

Provisioning keys a student's parent account by this email when there is one (so a parent who
has an account with it already is linked, and siblings sharing it share one parent), by
`parent_phone` otherwise. Nullable, no index: it is read with the import's students, never
searched. No new table, so no new RLS policy (tenant.students has its own).

Revision ID: 0010
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE tenant.students ADD COLUMN parent_email text"
               " CHECK (parent_email IS NULL OR length(parent_email) BETWEEN 3 AND 320)")


def downgrade() -> None:
    op.execute("ALTER TABLE tenant.students DROP COLUMN parent_email")
