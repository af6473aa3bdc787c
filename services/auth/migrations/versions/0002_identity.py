"""Users, sessions and refresh-token families, signing keys, the append-only audit log.

RLS (ENABLE + FORCE, through megacity.db.rls) on every table that holds a zone's data. Users,
sessions and refresh tokens are zone-level (no org column): the shared policies keep each zone
to itself, and RESTRICTIVE policies narrow that further — a user sees and changes only their own
row and sessions unless zone_admin/super_admin, or unless the transaction declares an auth
scope (`app.auth_scope`, set only by services.auth.db_scope):
  service   - unauthenticated credential flows and system work (login, register, refresh, events);
  directory - read-only user lookups for other services (gRPC LookupUsers).
Only a super_admin may create, grant or change a super_admin; a normal user cannot give themselves a
platform role. The audit log is readable by zone admins only and append-only for everyone.

Revision ID: 0002
"""
from alembic import op

from megacity.db.bootstrap import app_role
from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROLE = "(SELECT current_setting('app.role', true))"
ME = "(SELECT nullif(current_setting('app.user_id', true), '')::uuid)"
SCOPE = "(SELECT current_setting('app.auth_scope', true))"
ADMIN = f"{ROLE} IN ('zone_admin', 'super_admin')"
TABLES = ("users", "sessions", "refresh_tokens", "audit_logs")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE auth.users (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL CHECK (zone_id > 0),
            email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
            password_hash text NOT NULL,
            display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
            phone_encrypted text,
            platform_role text CHECK (platform_role IN ('zone_admin', 'super_admin')),
            mfa_secret_encrypted text,
            mfa_enabled_at timestamptz,
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
            password_changed_at timestamptz NOT NULL DEFAULT now(),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (zone_id, email),
            UNIQUE (zone_id, id)
        )""")
    op.execute("""
        CREATE TABLE auth.sessions (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid,
            user_id uuid NOT NULL,
            role text NOT NULL,
            mfa_verified boolean NOT NULL DEFAULT false,
            address text,
            user_agent text,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            revoked_reason text,
            FOREIGN KEY (zone_id, user_id) REFERENCES auth.users (zone_id, id) ON DELETE CASCADE
        )""")
    op.execute("CREATE INDEX sessions_live_by_user ON auth.sessions (zone_id, user_id) WHERE revoked_at IS NULL")
    op.execute("""
        CREATE TABLE auth.refresh_tokens (
            token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
            zone_id integer NOT NULL,
            session_id uuid NOT NULL REFERENCES auth.sessions (id) ON DELETE CASCADE,
            user_id uuid NOT NULL,
            issued_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            rotated_at timestamptz
        )""")
    op.execute("CREATE INDEX refresh_tokens_by_session ON auth.refresh_tokens (zone_id, session_id)")
    # Platform infrastructure, not tenant data (like the outbox): no RLS. Private halves are
    # encrypted with the PII keys; exactly one active key.
    op.execute("""
        CREATE TABLE auth.signing_keys (
            kid text PRIMARY KEY,
            algorithm text NOT NULL DEFAULT 'EdDSA',
            status text NOT NULL CHECK (status IN ('active', 'passive', 'retired')),
            private_key_encrypted text,
            public_jwk jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            deactivated_at timestamptz,
            retired_at timestamptz,
            CHECK (status = 'retired' OR private_key_encrypted IS NOT NULL)
        )""")
    op.execute("CREATE UNIQUE INDEX signing_keys_one_active ON auth.signing_keys ((true)) WHERE status = 'active'")
    op.execute("""
        CREATE TABLE auth.audit_logs (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            zone_id integer NOT NULL,
            org_id uuid,
            user_id uuid,
            action text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
            address text,
            user_agent text,
            details jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX audit_logs_by_zone ON auth.audit_logs (zone_id, id DESC)")
    op.execute("CREATE INDEX audit_logs_by_user ON auth.audit_logs (zone_id, user_id, id DESC)")
    op.execute("CREATE INDEX audit_logs_by_action ON auth.audit_logs (zone_id, action, id DESC)")
    op.execute("CREATE INDEX audit_logs_by_time ON auth.audit_logs (zone_id, created_at)")

    for table in TABLES:
        for stmt in tenant_rls_statements("auth", table, org_column=None):
            op.execute(stmt)

    # users: own row, admins, or a declared auth scope.
    op.execute(f"""CREATE POLICY users_read ON auth.users AS RESTRICTIVE FOR SELECT
        USING ({ADMIN} OR id = {ME} OR {SCOPE} IN ('service', 'directory'))""")
    grant_ok = (f"({ROLE} = 'super_admin' OR ({ROLE} = 'zone_admin' AND platform_role IS DISTINCT FROM 'super_admin')"
                f" OR platform_role IS NULL)")
    op.execute(f"""CREATE POLICY users_insert ON auth.users AS RESTRICTIVE FOR INSERT
        WITH CHECK (({ADMIN} OR {SCOPE} = 'service') AND {grant_ok})""")
    op.execute(f"""CREATE POLICY users_update ON auth.users AS RESTRICTIVE FOR UPDATE
        USING (({ADMIN} OR id = {ME} OR {SCOPE} = 'service')
               AND ({ROLE} = 'super_admin' OR platform_role IS DISTINCT FROM 'super_admin'))
        WITH CHECK (({ADMIN} OR id = {ME} OR {SCOPE} = 'service') AND {grant_ok})""")
    op.execute(f"CREATE POLICY users_delete ON auth.users AS RESTRICTIVE FOR DELETE USING ({ADMIN})")
    # sessions and refresh tokens: the user's own, admins, or the service scope.
    for table in ("sessions", "refresh_tokens"):
        own = f"({ADMIN} OR user_id = {ME} OR {SCOPE} = 'service')"
        op.execute(f"CREATE POLICY own_or_admin ON auth.{table} AS RESTRICTIVE USING ({own}) WITH CHECK ({own})")
    # audit log: anyone acting in the zone appends; only zone admins read; nobody rewrites.
    op.execute(f"CREATE POLICY admins_read ON auth.audit_logs AS RESTRICTIVE FOR SELECT USING ({ADMIN})")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON auth.audit_logs FROM {app_role('auth')}")
    op.execute("""
        CREATE FUNCTION auth.audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'auth.audit_logs is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$""")
    op.execute("""CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON auth.audit_logs
        FOR EACH ROW EXECUTE FUNCTION auth.audit_logs_append_only()""")
    op.execute("""CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON auth.audit_logs
        FOR EACH STATEMENT EXECUTE FUNCTION auth.audit_logs_append_only()""")


def downgrade() -> None:
    for table in TABLES:
        for stmt in drop_tenant_rls_statements("auth", table):
            op.execute(stmt)
    op.execute("DROP TABLE IF EXISTS auth.audit_logs, auth.signing_keys, auth.refresh_tokens, auth.sessions, auth.users")
    op.execute("DROP FUNCTION IF EXISTS auth.audit_logs_append_only()")
