"""Re-create `exam.ensure_month_partitions` with `search_path = pg_catalog, exam, pg_temp`
(issue #17 review). 0002 created it without pg_temp, and then pg_temp is searched FIRST for
relations: a caller's temp table named like a catalogue table would be read by the owner's
SECURITY DEFINER function. Same signature, owner and grants (CREATE OR REPLACE); the downgrade
keeps the hardened body (it takes what 0002's took).

Revision ID: 0005
Revises: 0004
"""
from alembic import op

from megacity.db.partitions import ensure_month_partitions_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PARTITIONED = ("attempts", "responses")  # as 0002


def upgrade() -> None:
    op.execute(ensure_month_partitions_sql("exam", PARTITIONED))


def downgrade() -> None:
    pass  # see the module docstring
