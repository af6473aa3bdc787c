"""Account recovery and hygiene (issue #17 §5): password reset and email verification tokens,
MFA recovery codes, the queue of outgoing account emails, `users.email_verified_at`.

- `account_tokens`: one row per emailed link (purpose `password_reset` or `email_verification`).
  Only SHA-256 of the token is stored; a newer request of the same purpose stamps the older live
  ones `replaced_at`; using one stamps `used_at` (single use).
- `mfa_recovery_codes`: SHA-256(user id, code) of each of the user's codes; `used_at` once used.
  A new set replaces the old one (rows deleted).
- `account_emails`: the outgoing mail queue, written in the transaction of the change that asks
  for a mail and sent by a background loop (`services.auth.emails`). The link's token is kept
  Fernet-sealed (`AUTH_PII_KEYS`) only until the mail is sent or given up, then erased.
- Both `account_tokens` and `account_emails` go after 30 days (services/auth/retention).

All are zone-level tables (RLS on zone) with a RESTRICTIVE policy: the user's own rows, zone and
super admins, or the auth `service` scope (flows before anyone is authenticated: reset, confirm
links, the mail sender).

Revision ID: 0007
"""
from alembic import op

from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ROLE = "(SELECT current_setting('app.role', true))"
ME = "(SELECT nullif(current_setting('app.user_id', true), '')::uuid)"
SCOPE = "(SELECT current_setting('app.auth_scope', true))"
OWN = f"({ROLE} IN ('zone_admin', 'super_admin') OR user_id = {ME} OR {SCOPE} = 'service')"
TABLES = ("account_tokens", "mfa_recovery_codes", "account_emails")


def upgrade() -> None:
    op.execute("ALTER TABLE auth.users ADD COLUMN email_verified_at timestamptz")
    op.execute("""
        CREATE TABLE auth.account_tokens (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            user_id uuid NOT NULL,
            purpose text NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
            token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
            email text NOT NULL,
            expires_at timestamptz NOT NULL,
            used_at timestamptz,
            replaced_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            FOREIGN KEY (zone_id, user_id) REFERENCES auth.users (zone_id, id) ON DELETE CASCADE
        )""")
    op.execute("CREATE INDEX account_tokens_live ON auth.account_tokens (zone_id, user_id, purpose)"
               " WHERE used_at IS NULL AND replaced_at IS NULL")
    op.execute("CREATE INDEX account_tokens_created ON auth.account_tokens (zone_id, created_at)")  # retention
    op.execute("""
        CREATE TABLE auth.mfa_recovery_codes (
            zone_id integer NOT NULL,
            user_id uuid NOT NULL,
            code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
            created_at timestamptz NOT NULL DEFAULT now(),
            used_at timestamptz,
            PRIMARY KEY (zone_id, user_id, code_hash),
            FOREIGN KEY (zone_id, user_id) REFERENCES auth.users (zone_id, id) ON DELETE CASCADE
        )""")
    op.execute("""
        CREATE TABLE auth.account_emails (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            user_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('password_reset', 'email_verification')),
            to_address text NOT NULL,
            to_name text NOT NULL DEFAULT '',
            payload_sealed text,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
            attempts integer NOT NULL DEFAULT 0,
            next_at timestamptz NOT NULL DEFAULT now(),
            error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            FOREIGN KEY (zone_id, user_id) REFERENCES auth.users (zone_id, id) ON DELETE CASCADE,
            CHECK (status = 'pending' OR payload_sealed IS NULL)
        )""")
    op.execute("CREATE INDEX account_emails_due ON auth.account_emails (zone_id, next_at) WHERE status = 'pending'")
    op.execute("CREATE INDEX account_emails_user ON auth.account_emails (zone_id, user_id, created_at)")
    op.execute("CREATE INDEX account_emails_created ON auth.account_emails (zone_id, created_at)")  # retention, sweep
    for table in TABLES:
        for stmt in tenant_rls_statements("auth", table, org_column=None):
            op.execute(stmt)
        op.execute(f"CREATE POLICY own_or_admin ON auth.{table} AS RESTRICTIVE USING ({OWN}) WITH CHECK ({OWN})")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP POLICY IF EXISTS own_or_admin ON auth.{table}")
        for stmt in drop_tenant_rls_statements("auth", table):
            op.execute(stmt)
        op.execute(f"DROP TABLE auth.{table}")
    op.execute("ALTER TABLE auth.users DROP COLUMN email_verified_at")
