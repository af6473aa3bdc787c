"""Re-create classroom's two SECURITY DEFINER partition functions with the hardened bodies
(issue #17 review):

- both: `search_path = pg_catalog, classroom, pg_temp` — pg_temp last. 0001 left it out, and
  then pg_temp is searched FIRST for relations: the app role could create a temp table named
  `pg_class` that renames a partition to another classroom table in the function's catalogue
  query and have the owner drop that table. Catalogue names are qualified as well;
- `drop_month_partitions_before`: never drops a month younger than the seed's retention of its
  table (messages 30 days, session_logs 90 days) whatever cutoff the caller passes (a shorter
  setting still deletes those rows, in batches); `lock_timeout = 2s` and each DROP in its own
  block, so a busy month waits for the next run instead of queueing the table's readers and
  writers behind an ACCESS EXCLUSIVE lock request.

Both keep their signatures, owner and grants (CREATE OR REPLACE). The downgrade keeps the
hardened bodies: they take what 0001's took, and putting the hole back would help no one.

Revision ID: 0002
Revises: 0001
"""
import datetime as dt

from alembic import op

from megacity.db.partitions import ensure_month_partitions_sql
from megacity.retention import drop_month_partitions_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LOCK = "classroom.month_partitions"  # shared by both functions, as in 0001
MIN_AGE = {"messages": dt.timedelta(days=30), "session_logs": dt.timedelta(days=90)}


def upgrade() -> None:
    op.execute(ensure_month_partitions_sql("classroom", tuple(MIN_AGE), lock=LOCK))
    op.execute(drop_month_partitions_sql("classroom", MIN_AGE, lock=LOCK))


def downgrade() -> None:
    pass  # see the module docstring
