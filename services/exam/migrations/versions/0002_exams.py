"""Item banks, items, exams, attempts, responses, item imports — with RLS, monthly partitions.

- `attempts` is partitioned by month of `started_at`; `responses` by month of the attempt's start
  (`attempt_started_at`), so all responses of one attempt share one partition and
  `(attempt, item)` can be a real unique key. Attempt ids are UUIDv7 whose timestamp *is*
  `started_at`, so a lookup by id prunes to one partition.
- A unique index on a partitioned table must contain the partition key, so "one active attempt
  per student per exam" lives in the small, unpartitioned `active_attempts` table (a row exists
  only while the attempt is in progress; its primary key is the rule).
- `exam.ensure_month_partitions(from, months)` (SECURITY DEFINER, owned by the owner role)
  lets the app role create the coming months' partitions. Queries through the parent use the
  parent's policies; each partition also gets the same ENABLE + FORCE RLS and tenant policies,
  so reading a partition directly is isolated just the same. A DEFAULT partition catches
  anything outside the created months, so an insert never fails.

Revision ID: 0002
"""
from alembic import op

from megacity.db.bootstrap import app_role
from megacity.db.partitions import ensure_month_partitions_sql
from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TENANT_TABLES = ("item_banks", "items", "item_bank_snapshots", "exams", "attempts", "active_attempts", "responses",
                 "item_imports", "item_import_errors")
PARTITIONED = ("attempts", "responses")

def upgrade() -> None:
    op.execute("""
        CREATE TABLE exam.item_banks (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            description text NOT NULL DEFAULT '',
            scaling_constant double precision NOT NULL DEFAULT 1.0 CHECK (scaling_constant > 0 AND scaling_constant <= 5),
            version bigint NOT NULL DEFAULT 0,
            item_count integer NOT NULL DEFAULT 0,
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, id),
            UNIQUE (zone_id, org_id, name)
        )""")

    op.execute("""
        CREATE TABLE exam.items (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            bank_id uuid NOT NULL,
            code text NOT NULL CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
            stem text NOT NULL CHECK (length(stem) BETWEEN 1 AND 20000),
            options jsonb NOT NULL DEFAULT '[]',
            answer_key text,
            option_scores jsonb,
            content_area text NOT NULL DEFAULT '' CHECK (length(content_area) <= 64),
            model text NOT NULL CHECK (model IN ('logistic', 'grm', 'gpcm')),
            a double precision NOT NULL CHECK (a > 0 AND a <= 10),
            b double precision CHECK (b BETWEEN -10 AND 10),
            c double precision NOT NULL DEFAULT 0,
            d double precision NOT NULL DEFAULT 1,
            thresholds double precision[],
            max_score smallint NOT NULL DEFAULT 1 CHECK (max_score BETWEEN 1 AND 9),
            enemy_tags text[] NOT NULL DEFAULT '{}',
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
            revision integer NOT NULL DEFAULT 1,
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, id),
            UNIQUE (zone_id, org_id, bank_id, code),
            FOREIGN KEY (zone_id, org_id, bank_id) REFERENCES exam.item_banks (zone_id, org_id, id),
            CHECK (0 <= c AND c < d AND d <= 1),
            CHECK ((model = 'logistic') = (b IS NOT NULL))
        )""")
    op.execute("CREATE INDEX items_bank ON exam.items (zone_id, org_id, bank_id, status, content_area)")

    # The IRT parameters of a bank version, frozen when the first attempt uses it (CAT LoadBank
    # and scoring read it; item text stays in `items`).
    op.execute("""
        CREATE TABLE exam.item_bank_snapshots (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            bank_id uuid NOT NULL,
            version bigint NOT NULL,
            scaling_constant double precision NOT NULL,
            item_count integer NOT NULL,
            items jsonb NOT NULL,
            enemy_sets jsonb NOT NULL DEFAULT '[]',
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, bank_id, version),
            FOREIGN KEY (zone_id, org_id, bank_id) REFERENCES exam.item_banks (zone_id, org_id, id)
        )""")

    op.execute("""
        CREATE TABLE exam.exams (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
            description text NOT NULL DEFAULT '',
            kind text NOT NULL CHECK (kind IN ('fixed', 'adaptive')),
            status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
            bank_id uuid NOT NULL,
            item_ids uuid[] NOT NULL DEFAULT '{}',
            time_limit_seconds integer CHECK (time_limit_seconds BETWEEN 10 AND 86400),
            cat_settings jsonb,
            scale_mean double precision NOT NULL DEFAULT 500,
            scale_sd double precision NOT NULL DEFAULT 100 CHECK (scale_sd > 0),
            class_id uuid,
            max_attempts integer CHECK (max_attempts BETWEEN 1 AND 100),
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz,
            archived_at timestamptz,
            PRIMARY KEY (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id, bank_id) REFERENCES exam.item_banks (zone_id, org_id, id)
        )""")
    op.execute("CREATE INDEX exams_recent ON exam.exams (zone_id, org_id, created_at DESC, id DESC)")
    op.execute("CREATE INDEX exams_status ON exam.exams (zone_id, org_id, status, created_at DESC)")

    op.execute("""
        CREATE TABLE exam.attempts (
            id uuid NOT NULL,
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            exam_id uuid NOT NULL,
            student_id uuid NOT NULL,
            class_id uuid,
            kind text NOT NULL CHECK (kind IN ('fixed', 'adaptive')),
            status text NOT NULL DEFAULT 'in_progress' CHECK (status IN ('in_progress', 'completed', 'expired')),
            started_at timestamptz NOT NULL,
            deadline_at timestamptz,
            ended_at timestamptz,
            bank_id uuid NOT NULL,
            bank_version bigint NOT NULL,
            seed bigint NOT NULL,
            cat_settings jsonb,
            item_ids uuid[] NOT NULL DEFAULT '{}',
            pending_item_ids uuid[] NOT NULL DEFAULT '{}',
            n_responses integer NOT NULL DEFAULT 0,
            raw_score integer NOT NULL DEFAULT 0,
            max_score integer NOT NULL DEFAULT 0,
            theta double precision,
            se double precision,
            scaled_score double precision,
            estimator text,
            stop_reason text,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, id, started_at)
        ) PARTITION BY RANGE (started_at)""")
    op.execute("CREATE INDEX attempts_student ON exam.attempts (zone_id, org_id, student_id, started_at DESC)")
    op.execute("CREATE INDEX attempts_exam ON exam.attempts (zone_id, org_id, exam_id, status)")

    op.execute("""
        CREATE TABLE exam.active_attempts (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            exam_id uuid NOT NULL,
            student_id uuid NOT NULL,
            attempt_id uuid NOT NULL,
            started_at timestamptz NOT NULL,
            deadline_at timestamptz,
            PRIMARY KEY (zone_id, org_id, exam_id, student_id)
        )""")
    op.execute("CREATE INDEX active_attempts_deadline ON exam.active_attempts (zone_id, deadline_at)"
               " WHERE deadline_at IS NOT NULL")

    op.execute("""
        CREATE TABLE exam.responses (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            attempt_id uuid NOT NULL,
            attempt_started_at timestamptz NOT NULL,
            seq integer NOT NULL,
            item_id uuid NOT NULL,
            answer text NOT NULL,
            score smallint NOT NULL,
            max_score smallint NOT NULL,
            answered_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, attempt_id, item_id, attempt_started_at),
            UNIQUE (zone_id, org_id, attempt_id, seq, attempt_started_at)
        ) PARTITION BY RANGE (attempt_started_at)""")
    op.execute("CREATE INDEX responses_item ON exam.responses (zone_id, org_id, item_id)")

    op.execute("""
        CREATE TABLE exam.item_imports (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            bank_id uuid NOT NULL,
            filename text NOT NULL,
            format text NOT NULL CHECK (format IN ('csv', 'xlsx')),
            mode text NOT NULL CHECK (mode IN ('valid_rows', 'all_or_nothing')),
            status text NOT NULL CHECK (status IN ('completed', 'rejected')),
            total_rows integer NOT NULL,
            created_rows integer NOT NULL DEFAULT 0,
            updated_rows integer NOT NULL DEFAULT 0,
            error_rows integer NOT NULL DEFAULT 0,
            bank_version bigint,
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id, bank_id) REFERENCES exam.item_banks (zone_id, org_id, id)
        )""")
    op.execute("CREATE INDEX item_imports_recent ON exam.item_imports (zone_id, org_id, created_at DESC)")
    op.execute("""
        CREATE TABLE exam.item_import_errors (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            import_id uuid NOT NULL,
            n integer NOT NULL,
            row_number integer NOT NULL,
            field text NOT NULL,
            code text NOT NULL,
            message text NOT NULL,
            PRIMARY KEY (zone_id, org_id, import_id, n),
            FOREIGN KEY (zone_id, org_id, import_id) REFERENCES exam.item_imports (zone_id, org_id, id) ON DELETE CASCADE
        )""")

    for table in TENANT_TABLES:
        for stmt in tenant_rls_statements("exam", table):
            op.execute(stmt)

    op.execute(ensure_month_partitions_sql("exam", PARTITIONED))
    op.execute("REVOKE ALL ON FUNCTION exam.ensure_month_partitions(date, integer) FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION exam.ensure_month_partitions(date, integer) TO "{app_role("exam")}"')
    for parent in PARTITIONED:
        op.execute(f"CREATE TABLE exam.{parent}_default PARTITION OF exam.{parent} DEFAULT")
        for stmt in tenant_rls_statements("exam", f"{parent}_default"):
            op.execute(stmt)
    op.execute("SELECT exam.ensure_month_partitions((date_trunc('month', now()) - interval '1 month')::date, 5)")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS exam.ensure_month_partitions(date, integer)")
    for table in reversed(TENANT_TABLES):
        for stmt in drop_tenant_rls_statements("exam", table):
            op.execute(stmt)
    op.execute("DROP TABLE IF EXISTS exam.item_import_errors, exam.item_imports, exam.responses, exam.active_attempts,"
               " exam.attempts, exam.exams, exam.item_bank_snapshots, exam.items, exam.item_banks CASCADE")
