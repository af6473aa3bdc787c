"""Honest scores (issue #13): attempt status `incomplete` — an adaptive attempt that ended
(submitted, or out of time) before the exam's `min_items`. It keeps its θ and SE but never
counts in latest scores, averages, percentiles or dashboards (`attempt_store.COUNTED_STATUSES`).

Only the status CHECK changes: no new column, so the tenant RLS policies of `attempts` (and of
each partition, which inherits the constraint from the parent) cover it unchanged.

Downgrade turns `incomplete` back into what the old code would have written (`expired` when
the clock ended it, else `completed`); the table is FORCE RLS and the owner is NOBYPASSRLS, so
the update runs with FORCE lifted for its own transaction only.

Revision ID: 0004
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _status_check(*statuses: str) -> str:
    values = ", ".join(f"'{s}'" for s in statuses)
    return ("ALTER TABLE exam.attempts DROP CONSTRAINT attempts_status_check,"
            f" ADD CONSTRAINT attempts_status_check CHECK (status IN ({values}))")


def upgrade() -> None:
    op.execute(_status_check("in_progress", "completed", "expired", "incomplete"))


def downgrade() -> None:
    op.execute("ALTER TABLE exam.attempts NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE exam.attempts SET status = CASE WHEN stop_reason = 'expired' THEN 'expired' ELSE 'completed'"
               " END WHERE status = 'incomplete'")
    op.execute("ALTER TABLE exam.attempts FORCE ROW LEVEL SECURITY")
    op.execute(_status_check("in_progress", "completed", "expired"))
