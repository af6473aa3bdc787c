"""Super admins are bounded by the request's zone like every other role (issue #9: a super
admin of zone A, on zone A's host, read and changed zone B's rows).

Revision ID: 0004
"""
from megacity.db.rls import bound_super_admin_to_zone

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bound_super_admin_to_zone("auth")


def downgrade() -> None:
    bound_super_admin_to_zone("auth", bound=False)
