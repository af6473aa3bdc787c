"""Parent self-service (issue #13 §3): school-issued parent codes and in-app notifications.

- `parent_codes`: one-time codes a teacher or org admin issues for a roster student. Only an
  HMAC of the code is stored; a code expires and is used once (`used_at`, `used_by`, `link_id`).
- `notifications`: in-app notifications of one user in one org. Besides the usual tenant
  policies, RESTRICTIVE policies let a request read, change or delete only the rows of its own
  user (`app.user_id`): anyone in the org may notify anyone in it (INSERT), but a list is
  always "mine". Inserts therefore never use RETURNING.

Revision ID: 0007
"""
from alembic import op

from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("parent_codes", "notifications")
_ME = "user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid)"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE tenant.parent_codes (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            student_id uuid NOT NULL,
            code_hash bytea NOT NULL,
            created_by uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            used_at timestamptz,
            used_by uuid,
            link_id uuid,
            PRIMARY KEY (zone_id, org_id, id),
            UNIQUE (zone_id, org_id, code_hash),
            FOREIGN KEY (zone_id, org_id, student_id) REFERENCES tenant.students (zone_id, org_id, id)
        )""")
    op.execute("CREATE INDEX parent_codes_student ON tenant.parent_codes (zone_id, org_id, student_id)")
    op.execute("""
        CREATE TABLE tenant.notifications (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            user_id uuid NOT NULL,
            kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
            title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
            data jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            read_at timestamptz,
            PRIMARY KEY (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id) REFERENCES tenant.orgs (zone_id, id)
        )""")
    # GET /api/v1/notifications: one user's, newest first.
    op.execute("CREATE INDEX notifications_user ON tenant.notifications"
               " (zone_id, org_id, user_id, created_at DESC, id DESC)")
    for table in TABLES:
        for stmt in tenant_rls_statements("tenant", table):
            op.execute(stmt)
    for command in ("SELECT", "UPDATE", "DELETE"):
        op.execute(f"CREATE POLICY own_rows_{command.lower()} ON tenant.notifications AS RESTRICTIVE"
                   f" FOR {command} USING ({_ME})")


def downgrade() -> None:
    for command in ("select", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS own_rows_{command} ON tenant.notifications")
    for table in reversed(TABLES):
        for stmt in drop_tenant_rls_statements("tenant", table):
            op.execute(stmt)
        op.execute(f"DROP TABLE tenant.{table}")
