"""K-Zone media objects, content catalogue, AI jobs and results — all tenant tables under RLS.

Every tenant index leads with (zone_id, org_id). Cross-table references are composite
(zone_id, org_id, id) foreign keys, so a row can never point at another tenant's row even
though foreign-key checks themselves bypass RLS.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("kzone_media", "kzone_contents", "kzone_ai_jobs", "kzone_ai_results")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE kzone.kzone_media (
            id uuid PRIMARY KEY,
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            owner_id uuid NOT NULL,
            purpose text NOT NULL CHECK (purpose IN ('content', 'ai_input')),
            media_kind text NOT NULL CHECK (media_kind IN ('audio', 'video', 'image')),
            content_type text NOT NULL,
            size_bytes bigint NOT NULL CHECK (size_bytes > 0),
            sha256 text NOT NULL,
            storage_key text NOT NULL UNIQUE,
            original_filename text,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (zone_id, org_id, id)
        )""")
    op.execute("CREATE INDEX kzone_media_tenant ON kzone.kzone_media (zone_id, org_id, created_at DESC)")

    op.execute("""
        CREATE TABLE kzone.kzone_contents (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 300),
            type text NOT NULL CHECK (type IN ('video', 'audio', 'image', 'article')),
            url text CHECK (url IS NULL OR char_length(url) <= 2048),
            media_id uuid,
            description text CHECK (description IS NULL OR char_length(description) <= 5000),
            tags text[] NOT NULL DEFAULT '{}',
            created_by uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CHECK (url IS NOT NULL OR media_id IS NOT NULL),
            CHECK (cardinality(tags) <= 20),
            FOREIGN KEY (zone_id, org_id, media_id) REFERENCES kzone.kzone_media (zone_id, org_id, id)
        )""")
    # Keyset pagination (newest first) inside one tenant; title/tag filters run within it.
    op.execute("CREATE INDEX kzone_contents_tenant_recent ON kzone.kzone_contents"
               " (zone_id, org_id, created_at DESC, id DESC)")

    op.execute("""
        CREATE TABLE kzone.kzone_ai_jobs (
            id uuid PRIMARY KEY,
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            owner_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('voice', 'pose', 'tutor')),
            status text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'processing', 'succeeded', 'failed')),
            input_media_id uuid,
            reference_media_id uuid,
            parent_job_id uuid,
            params jsonb NOT NULL DEFAULT '{}',
            error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            UNIQUE (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id, input_media_id) REFERENCES kzone.kzone_media (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id, reference_media_id) REFERENCES kzone.kzone_media (zone_id, org_id, id),
            FOREIGN KEY (zone_id, org_id, parent_job_id) REFERENCES kzone.kzone_ai_jobs (zone_id, org_id, id)
        )""")
    # seed 004 §5: (tenant, status) and (tenant, job) lookups; plus a user's own recent jobs.
    op.execute("CREATE INDEX kzone_ai_jobs_tenant_status ON kzone.kzone_ai_jobs (zone_id, org_id, status)")
    op.execute("CREATE INDEX kzone_ai_jobs_tenant_owner ON kzone.kzone_ai_jobs"
               " (zone_id, org_id, owner_id, created_at DESC)")

    op.execute("""
        CREATE TABLE kzone.kzone_ai_results (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            job_id uuid NOT NULL UNIQUE,
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('voice', 'pose', 'tutor')),
            status text NOT NULL CHECK (status IN ('succeeded', 'failed')),
            result jsonb,
            error text,
            result_key text,
            event_id text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            FOREIGN KEY (zone_id, org_id, job_id) REFERENCES kzone.kzone_ai_jobs (zone_id, org_id, id)
        )""")
    op.execute("CREATE INDEX kzone_ai_results_tenant ON kzone.kzone_ai_results (zone_id, org_id, created_at DESC)")

    for table in TABLES:
        for stmt in tenant_rls_statements("kzone", table):
            op.execute(stmt)


def downgrade() -> None:
    for table in reversed(TABLES):
        for stmt in drop_tenant_rls_statements("kzone", table):
            op.execute(stmt)
        op.execute(f"DROP TABLE kzone.{table}")
