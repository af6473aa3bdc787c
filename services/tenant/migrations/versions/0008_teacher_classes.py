"""Teacher ↔ class assignment (issue #13): which teachers (by auth user) teach which class.

A teacher reads only the classes it is assigned to, their roster and their members; exam asks
`TenantService/ListTeacherClasses` to scope attempt lists and analytics the same way. Org admins
assign and unassign. A tenant table: `(zone_id, org_id)` leads its keys, RLS (ENABLE + FORCE,
explicit zone/super admin policies) decides what a request sees; deleting the class deletes its
assignments.

Revision ID: 0008
"""
from alembic import op

from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE tenant.teacher_classes (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            class_id uuid NOT NULL,
            teacher_user_id uuid NOT NULL,
            assigned_by uuid,
            assigned_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, class_id, teacher_user_id),
            FOREIGN KEY (zone_id, org_id, class_id) REFERENCES tenant.classes (zone_id, org_id, id) ON DELETE CASCADE
        )""")
    # "Which classes does this teacher have": every teacher-scoped read starts here.
    op.execute("CREATE INDEX teacher_classes_teacher ON tenant.teacher_classes (zone_id, org_id, teacher_user_id)")
    for stmt in tenant_rls_statements("tenant", "teacher_classes"):
        op.execute(stmt)


def downgrade() -> None:
    for stmt in drop_tenant_rls_statements("tenant", "teacher_classes"):
        op.execute(stmt)
    op.execute("DROP TABLE tenant.teacher_classes")
