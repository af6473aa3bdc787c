"""The platform audit store (issue #17 §4): every service's audit records, in one table.

`auth.platform_audit` holds what `megacity.audit.record_audit` wrote into each service's
outbox, consumed by auth's `auth-audit` consumer. `id` is the producer's event id, so a
redelivered message can never become a second row (the inbox already stops it; the key is
the second lock). Auth's own `auth.audit_logs` stays as it is (one index added for the
listing's order); the query reads both.

RLS (ENABLE + FORCE): zone and super admins see their zone (the shared policies); an org admin
sees only rows of their own org (`org_admin_read`, org from the transaction's tenant context);
everyone else sees nothing (a RESTRICTIVE policy). Writes come only from the consumer's system
transaction (`app.auth_scope` = service). Append-only: the app role has no UPDATE, DELETE or
TRUNCATE, and a trigger refuses UPDATE always and DELETE of rows younger than one year (the
retention runner, as the table owner, may drop only what retention allows).

Revision ID: 0006
"""
from alembic import op

from megacity.db.bootstrap import app_role
from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLE = "(SELECT current_setting('app.role', true))"
ZONE = "(SELECT nullif(current_setting('app.zone_id', true), '')::int)"
ORG = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
SCOPE = "(SELECT current_setting('app.auth_scope', true))"
ADMIN = f"{ROLE} IN ('zone_admin', 'super_admin')"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE auth.platform_audit (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id uuid NOT NULL UNIQUE,
            zone_id integer NOT NULL,
            org_id uuid,
            service text NOT NULL CHECK (length(service) BETWEEN 1 AND 40),
            action text NOT NULL CHECK (length(action) BETWEEN 3 AND 120),
            actor_user_id uuid,
            actor_role text NOT NULL CHECK (length(actor_role) BETWEEN 1 AND 60),
            actor_kind text NOT NULL DEFAULT 'user' CHECK (actor_kind IN ('user', 'system')),
            target_type text NOT NULL CHECK (length(target_type) BETWEEN 1 AND 50),
            target_id text NOT NULL CHECK (length(target_id) BETWEEN 1 AND 200),
            before jsonb,
            after jsonb,
            trace_id text CHECK (trace_id ~ '^[0-9a-f]{32}$'),
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now()
        )""")
    # (zone_id[, org_id], occurred_at, seq): the listing's order (newest first, seq breaks ties),
    # read backwards from the cursor and stopped after a page (services/auth/audit/queries.py).
    op.execute("CREATE INDEX platform_audit_by_zone ON auth.platform_audit (zone_id, occurred_at, seq)")
    op.execute("CREATE INDEX platform_audit_by_org ON auth.platform_audit (zone_id, org_id, occurred_at, seq)")
    op.execute("CREATE INDEX platform_audit_by_action"
               " ON auth.platform_audit (zone_id, action text_pattern_ops, occurred_at, seq)")
    op.execute("CREATE INDEX platform_audit_by_actor ON auth.platform_audit (zone_id, actor_user_id, occurred_at, seq)")
    op.execute("CREATE INDEX platform_audit_by_target"
               " ON auth.platform_audit (zone_id, target_type, target_id, occurred_at, seq)")
    # Auth's own log in the same listing: the same order on its (created_at, id), zone-wide or
    # one org's. The first replaces 0002's (zone_id, created_at), of which it is an extension.
    op.execute("CREATE INDEX audit_logs_by_zone_time ON auth.audit_logs (zone_id, created_at, id)")
    op.execute("CREATE INDEX audit_logs_by_org_time ON auth.audit_logs (zone_id, org_id, created_at, id)")
    op.execute("DROP INDEX auth.audit_logs_by_time")

    for stmt in tenant_rls_statements("auth", "platform_audit", org_column=None):
        op.execute(stmt)
    # Reads: zone/super admins (zone bound by the shared policies) or an org admin of the row's org.
    # The service scope too: the consumer's INSERT ... ON CONFLICT DO NOTHING must pass a SELECT
    # policy for the new row (PostgreSQL checks it for ON CONFLICT); nothing else reads under it.
    op.execute(f"""CREATE POLICY readers ON auth.platform_audit AS RESTRICTIVE FOR SELECT
        USING ({ADMIN} OR {SCOPE} = 'service'
               OR ({ROLE} = 'org_admin' AND org_id IS NOT NULL AND org_id = {ORG}))""")
    op.execute(f"""CREATE POLICY writers ON auth.platform_audit AS RESTRICTIVE FOR INSERT
        WITH CHECK ({SCOPE} = 'service' AND zone_id = {ZONE})""")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON auth.platform_audit FROM {app_role('auth')}")
    op.execute("""
        CREATE FUNCTION auth.platform_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND OLD.occurred_at < now() - interval '1 year' THEN
                RETURN OLD;  -- retention
            END IF;
            RAISE EXCEPTION 'auth.platform_audit is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$""")
    op.execute("""CREATE TRIGGER platform_audit_append_only BEFORE UPDATE OR DELETE ON auth.platform_audit
        FOR EACH ROW EXECUTE FUNCTION auth.platform_audit_append_only()""")
    op.execute("""CREATE TRIGGER platform_audit_no_truncate BEFORE TRUNCATE ON auth.platform_audit
        FOR EACH STATEMENT EXECUTE FUNCTION auth.platform_audit_append_only()""")


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS audit_logs_by_time ON auth.audit_logs (zone_id, created_at)")
    op.execute("DROP INDEX IF EXISTS auth.audit_logs_by_zone_time, auth.audit_logs_by_org_time")
    for stmt in drop_tenant_rls_statements("auth", "platform_audit"):
        op.execute(stmt)
    op.execute("DROP TABLE IF EXISTS auth.platform_audit")
    op.execute("DROP FUNCTION IF EXISTS auth.platform_audit_append_only()")
