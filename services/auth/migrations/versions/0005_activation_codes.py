"""Accounts provisioned from school rosters and their one-time activation codes (issue #13 §2).

- `provisioned_accounts`: which account tenant's external key (a roster student or parent of
  one org) maps to, so provisioning the same roster again creates nothing; `created` tells an
  account provisioning made (it may get codes) from one that already existed with that email
  (linked, never a code: its owner has a password).
- `activation_codes`: one live code per account. Only a SHA-256 of (user id, code) is checked;
  the plaintext is also kept Fernet-sealed (the PII keys) until the org's activation sheet takes
  it once (`taken_at`, sealed copy erased) or it expires. Used codes keep their row (`used_at`).

Both are zone-level tables (RLS on zone) that only the auth service scope or zone/super admins
touch: no end user reads them.

Revision ID: 0005
"""
from alembic import op

from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROLE = "(SELECT current_setting('app.role', true))"
SCOPE = "(SELECT current_setting('app.auth_scope', true))"
ALLOWED = f"({ROLE} IN ('zone_admin', 'super_admin') OR {SCOPE} = 'service')"
TABLES = ("provisioned_accounts", "activation_codes")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE auth.provisioned_accounts (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            external_key text NOT NULL CHECK (length(external_key) BETWEEN 1 AND 200),
            user_id uuid NOT NULL,
            created boolean NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, external_key),
            FOREIGN KEY (zone_id, user_id) REFERENCES auth.users (zone_id, id) ON DELETE CASCADE
        )""")
    op.execute("CREATE INDEX provisioned_accounts_user ON auth.provisioned_accounts (zone_id, user_id)")
    op.execute("""
        CREATE TABLE auth.activation_codes (
            zone_id integer NOT NULL,
            user_id uuid NOT NULL,
            org_id uuid NOT NULL,
            code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
            code_sealed text,
            expires_at timestamptz NOT NULL,
            used_at timestamptz,
            taken_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, user_id),
            FOREIGN KEY (zone_id, user_id) REFERENCES auth.users (zone_id, id) ON DELETE CASCADE,
            CHECK (used_at IS NULL OR code_sealed IS NULL)
        )""")
    op.execute("CREATE INDEX activation_codes_org ON auth.activation_codes (zone_id, org_id)"
               " WHERE code_sealed IS NOT NULL")
    for table in TABLES:
        for stmt in tenant_rls_statements("auth", table, org_column=None):
            op.execute(stmt)
        op.execute(f"CREATE POLICY service_only ON auth.{table} AS RESTRICTIVE USING ({ALLOWED})"
                   f" WITH CHECK ({ALLOWED})")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP POLICY IF EXISTS service_only ON auth.{table}")
        for stmt in drop_tenant_rls_statements("auth", table):
            op.execute(stmt)
        op.execute(f"DROP TABLE auth.{table}")
