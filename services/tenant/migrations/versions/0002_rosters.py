"""Classes, students, teachers, parents, parent-student links, roster imports and their errors.

Every table is a tenant table: `(zone_id, org_id)` leads its keys and indexes, and RLS
(ENABLE + FORCE, explicit zone/super admin policies) decides what a request sees.

Revision ID: 0002
"""
from alembic import op

from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("classes", "students", "teachers", "parents", "parent_links", "roster_imports", "roster_import_errors")


def upgrade() -> None:
    op.execute("ALTER TABLE tenant.orgs ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()")
    op.execute("ALTER TABLE tenant.memberships ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()")
    # ListMemberships looks a user up across the orgs of a zone.
    op.execute("CREATE INDEX memberships_zone_user ON tenant.memberships (zone_id, user_id)")

    op.execute("""
        CREATE TABLE tenant.classes (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            grade smallint NOT NULL CHECK (grade BETWEEN 1 AND 20),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, id),
            UNIQUE (zone_id, org_id, grade, name),
            FOREIGN KEY (zone_id, org_id) REFERENCES tenant.orgs (zone_id, id)
        )""")

    op.execute("""
        CREATE TABLE tenant.students (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            user_id uuid,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            grade smallint NOT NULL CHECK (grade BETWEEN 1 AND 20),
            class_id uuid,
            parent_phone text NOT NULL CHECK (parent_phone ~ '^\\+?[0-9]{7,15}$'),
            email text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            deleted_at timestamptz,
            last_import_id uuid,
            last_import_row integer,
            PRIMARY KEY (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id) REFERENCES tenant.orgs (zone_id, id),
            FOREIGN KEY (zone_id, org_id, class_id) REFERENCES tenant.classes (zone_id, org_id, id)
                ON DELETE SET NULL (class_id)
        )""")
    # Seed 004 §5: the bulk-import match key, split by live / soft-deleted rows.
    op.execute("CREATE UNIQUE INDEX students_key_live ON tenant.students (zone_id, org_id, name, parent_phone)"
               " WHERE deleted_at IS NULL")
    op.execute("CREATE INDEX students_key_deleted ON tenant.students (zone_id, org_id, name, parent_phone)"
               " WHERE deleted_at IS NOT NULL")
    op.execute("CREATE INDEX students_user ON tenant.students (zone_id, org_id, user_id) WHERE user_id IS NOT NULL")
    # Partial on purpose: with stale statistics (an org that an import is filling right now) the
    # planner must not mistake an index on (zone_id, org_id, <other>) for the match-key lookup.
    op.execute("CREATE INDEX students_class ON tenant.students (zone_id, org_id, class_id) WHERE class_id IS NOT NULL")
    # Room on each page so re-import stamps (last_import_*) and grade changes stay HOT updates:
    # no new index entries for a row whose indexed columns did not change.
    op.execute("ALTER TABLE tenant.students SET (fillfactor = 85)")

    for table in ("teachers", "parents"):
        op.execute(f"""
            CREATE TABLE tenant.{table} (
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                zone_id integer NOT NULL,
                org_id uuid NOT NULL,
                user_id uuid,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                email text,
                phone text CHECK (phone ~ '^\\+?[0-9]{{7,15}}$'),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                deleted_at timestamptz,
                PRIMARY KEY (zone_id, org_id, id),
                FOREIGN KEY (zone_id, org_id) REFERENCES tenant.orgs (zone_id, id)
            )""")
        op.execute(f"CREATE INDEX {table}_name ON tenant.{table} (zone_id, org_id, name) WHERE deleted_at IS NULL")
        op.execute(f"CREATE INDEX {table}_user ON tenant.{table} (zone_id, org_id, user_id) WHERE user_id IS NOT NULL")

    op.execute("""
        CREATE TABLE tenant.parent_links (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            parent_user_id uuid NOT NULL,
            student_user_id uuid NOT NULL,
            student_id uuid,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'rejected', 'revoked')),
            requested_at timestamptz NOT NULL DEFAULT now(),
            decided_at timestamptz,
            decided_by uuid,
            revoked_at timestamptz,
            revoked_by uuid,
            PRIMARY KEY (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id) REFERENCES tenant.orgs (zone_id, id)
        )""")
    # One open (pending or approved) link per parent and student; closed ones are history.
    op.execute("CREATE UNIQUE INDEX parent_links_open ON tenant.parent_links"
               " (zone_id, org_id, parent_user_id, student_user_id) WHERE status IN ('pending', 'approved')")
    op.execute("CREATE INDEX parent_links_student ON tenant.parent_links (zone_id, org_id, student_user_id)")
    op.execute("CREATE INDEX parent_links_student_record ON tenant.parent_links (zone_id, org_id, student_id)"
               " WHERE student_id IS NOT NULL")

    op.execute("""
        CREATE TABLE tenant.roster_imports (
            id uuid NOT NULL,
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            created_by uuid NOT NULL,
            filename text NOT NULL,
            size_bytes bigint NOT NULL,
            status text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
            total_rows integer,
            processed_rows integer NOT NULL DEFAULT 0,
            created_count integer NOT NULL DEFAULT 0,
            updated_count integer NOT NULL DEFAULT 0,
            restored_count integer NOT NULL DEFAULT 0,
            unchanged_count integer NOT NULL DEFAULT 0,
            error_count integer NOT NULL DEFAULT 0,
            error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            finished_at timestamptz,
            PRIMARY KEY (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id) REFERENCES tenant.orgs (zone_id, id)
        )""")
    op.execute("CREATE INDEX roster_imports_recent ON tenant.roster_imports (zone_id, org_id, created_at DESC)")
    op.execute("""
        CREATE TABLE tenant.roster_import_errors (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            import_id uuid NOT NULL,
            row_number integer NOT NULL,
            column_name text NOT NULL,
            reason text NOT NULL,
            PRIMARY KEY (zone_id, org_id, import_id, row_number, column_name),
            FOREIGN KEY (zone_id, org_id, import_id) REFERENCES tenant.roster_imports (zone_id, org_id, id)
                ON DELETE CASCADE
        )""")
    for table in TABLES:
        for stmt in tenant_rls_statements("tenant", table):
            op.execute(stmt)


def downgrade() -> None:
    for table in reversed(TABLES):
        for stmt in drop_tenant_rls_statements("tenant", table):
            op.execute(stmt)
        op.execute(f"DROP TABLE tenant.{table}")
    op.execute("DROP INDEX tenant.memberships_zone_user")
    op.execute("ALTER TABLE tenant.memberships DROP COLUMN updated_at")
    op.execute("ALTER TABLE tenant.orgs DROP COLUMN updated_at")
