"""Exam schema start: outbox/inbox (exams, items and attempts arrive with the exam issue).

Revision ID: 0001
"""
from alembic import op

from megacity.events.outbox import outbox_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for stmt in outbox_ddl("exam"):
        op.execute(stmt)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS exam.outbox, exam.inbox CASCADE")
