"""AI jobs can be cancelled: status `cancelled`, and who cancelled it.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE kzone.kzone_ai_jobs DROP CONSTRAINT kzone_ai_jobs_status_check,"
               " ADD CONSTRAINT kzone_ai_jobs_status_check"
               " CHECK (status IN ('queued', 'processing', 'succeeded', 'failed', 'cancelled'))")
    op.execute("ALTER TABLE kzone.kzone_ai_jobs ADD COLUMN cancelled_by uuid")


def downgrade() -> None:
    op.execute("UPDATE kzone.kzone_ai_jobs SET status = 'failed' WHERE status = 'cancelled'")
    op.execute("ALTER TABLE kzone.kzone_ai_jobs DROP COLUMN cancelled_by")
    op.execute("ALTER TABLE kzone.kzone_ai_jobs DROP CONSTRAINT kzone_ai_jobs_status_check,"
               " ADD CONSTRAINT kzone_ai_jobs_status_check"
               " CHECK (status IN ('queued', 'processing', 'succeeded', 'failed'))")
