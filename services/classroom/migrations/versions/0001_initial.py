"""Classroom schema (seed 002, made tenant-safe): sessions, participants, problems, cards shown,
answers, chat messages, session logs, the org's moderation words; outbox/inbox.

- Every table carries (zone_id, org_id) under the platform's tenant RLS (ENABLE + FORCE).
- A session code is unique among active sessions across the platform
  (`idx_session_code_active`), so a code names one session whatever zone asks; one active
  session per class (`idx_session_class_active`).
- Anonymous join: a participant has no org yet when it types a code. The `code_lookup` policy
  lets the role `guest` read the sessions of its zone whose code (or homework code) equals the
  transaction-local `app.session_code` (the active one, or the ended one a late joiner gets 410
  for) — nothing else.
- `messages` and `session_logs` are partitioned by month so retention drops whole months
  (`classroom.drop_month_partitions_before`); `classroom.ensure_month_partitions` creates the
  coming months (SECURITY DEFINER, owned by the owner role: the app role cannot create tables).
  Each partition gets the same ENABLE + FORCE RLS and policies, so reading one directly is
  isolated too; a DEFAULT partition means an insert never fails.

Revision ID: 0001
"""
from alembic import op

from megacity.db.bootstrap import app_role
from megacity.db.partitions import ensure_month_partitions_sql
from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements
from megacity.events.outbox import outbox_ddl, outbox_drop_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_TABLES = ("sessions", "participants", "problems", "session_cards", "answers", "messages", "session_logs",
                 "moderation_words")
PARTITIONED = ("messages", "session_logs")
CODE_RE = "^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$"

# Drops the monthly partitions of `p_parent` that end at or before `p_cutoff` (never DEFAULT);
# returns how many. Names are checked against the catalogue, never trusted.
DROP_PARTITIONS = """
CREATE OR REPLACE FUNCTION classroom.drop_month_partitions_before(p_parent text, p_cutoff timestamptz)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, classroom
AS $$
DECLARE
    r record;
    dropped integer := 0;
BEGIN
    IF p_parent NOT IN ('messages', 'session_logs') THEN
        RAISE EXCEPTION 'not a partitioned classroom table: %', p_parent;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('classroom.month_partitions'));
    FOR r IN
        SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = 'classroom' AND p.relname = p_parent
    LOOP
        CONTINUE WHEN r.bound = 'DEFAULT';
        IF (substring(r.bound FROM 'TO \\(''([^'']+)''\\)'))::timestamptz <= p_cutoff THEN
            EXECUTE format('DROP TABLE classroom.%I', r.name);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END
$$"""


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE classroom.sessions (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            class_id uuid NOT NULL,
            teacher_id uuid NOT NULL,
            code text NOT NULL CHECK (code ~ '{CODE_RE}'),
            title text NOT NULL DEFAULT '' CHECK (length(title) <= 120),
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended', 'expired')),
            started_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            ended_at timestamptz,
            locked boolean NOT NULL DEFAULT false,
            approve_arrivals boolean NOT NULL DEFAULT false,
            friendly_nicknames boolean NOT NULL DEFAULT false,
            scoring text NOT NULL DEFAULT 'speed' CHECK (scoring IN ('speed', 'accuracy')),
            chat_mode text NOT NULL DEFAULT 'open' CHECK (chat_mode IN ('open', 'hold', 'off')),
            slow_mode_seconds integer NOT NULL DEFAULT 0 CHECK (slow_mode_seconds BETWEEN 0 AND 300),
            card_seconds integer NOT NULL DEFAULT 30 CHECK (card_seconds BETWEEN 5 AND 300),
            homework_code text CHECK (homework_code ~ '{CODE_RE}'),
            homework_until timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            CHECK (expires_at > started_at),
            CHECK ((homework_code IS NULL) = (homework_until IS NULL))
        )""")
    op.execute("CREATE UNIQUE INDEX idx_session_code_active ON classroom.sessions (code) WHERE status = 'active'")
    op.execute("CREATE UNIQUE INDEX idx_session_class_active ON classroom.sessions (zone_id, org_id, class_id)"
               " WHERE status = 'active'")
    op.execute("CREATE UNIQUE INDEX idx_session_homework_code ON classroom.sessions (homework_code)"
               " WHERE homework_code IS NOT NULL")
    op.execute("CREATE INDEX sessions_org_started ON classroom.sessions (zone_id, org_id, started_at DESC)")
    op.execute("CREATE INDEX sessions_ended ON classroom.sessions (zone_id, ended_at) WHERE ended_at IS NOT NULL")

    op.execute("""
        CREATE TABLE classroom.participants (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            session_id uuid NOT NULL REFERENCES classroom.sessions (id) ON DELETE CASCADE,
            nickname text NOT NULL CHECK (length(nickname) BETWEEN 1 AND 160),  -- 20 as people see them
            nickname_key text NOT NULL,
            avatar text NOT NULL CHECK (length(avatar) BETWEEN 1 AND 64),
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending', 'kicked', 'banned')),
            muted boolean NOT NULL DEFAULT false,
            extra_time_seconds integer NOT NULL DEFAULT 0 CHECK (extra_time_seconds BETWEEN 0 AND 600),
            mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'homework')),
            joined_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (session_id, nickname_key)
        )""")
    op.execute("CREATE INDEX participants_session ON classroom.participants (zone_id, org_id, session_id, joined_at)")

    op.execute("""
        CREATE TABLE classroom.problems (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            class_id uuid,
            type text NOT NULL CHECK (type IN ('vocabulary', 'proverb', 'math')),
            difficulty smallint NOT NULL CHECK (difficulty BETWEEN 1 AND 5),
            grade smallint NOT NULL CHECK (grade BETWEEN 1 AND 12),
            prompt text NOT NULL CHECK (length(prompt) BETWEEN 1 AND 1000),
            answer text NOT NULL CHECK (length(answer) BETWEEN 1 AND 200),
            choices jsonb CHECK (choices IS NULL OR jsonb_typeof(choices) = 'array'),
            explanation text NOT NULL DEFAULT '' CHECK (length(explanation) <= 2000),
            read_aloud boolean NOT NULL DEFAULT false,
            time_limit_seconds integer CHECK (time_limit_seconds BETWEEN 5 AND 300),
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX idx_problems_grade_difficulty ON classroom.problems (zone_id, org_id, grade, difficulty)")
    op.execute("CREATE INDEX problems_class ON classroom.problems (zone_id, org_id, class_id)")

    op.execute("""
        CREATE TABLE classroom.session_cards (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            session_id uuid NOT NULL REFERENCES classroom.sessions (id) ON DELETE CASCADE,
            card_no integer NOT NULL CHECK (card_no >= 1),
            problem_id uuid NOT NULL,
            shown_at timestamptz NOT NULL,
            closes_at timestamptz NOT NULL,
            closed_at timestamptz,
            PRIMARY KEY (session_id, card_no)
        )""")
    op.execute("CREATE INDEX session_cards_tenant ON classroom.session_cards (zone_id, org_id, session_id)")

    op.execute("""
        CREATE TABLE classroom.answers (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            session_id uuid NOT NULL,
            card_no integer NOT NULL,
            participant_id uuid NOT NULL REFERENCES classroom.participants (id) ON DELETE CASCADE,
            answer text NOT NULL CHECK (length(answer) <= 200),
            correct boolean NOT NULL,
            points integer NOT NULL DEFAULT 0 CHECK (points >= 0),
            elapsed_ms integer NOT NULL CHECK (elapsed_ms >= 0),
            mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'homework')),
            answered_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (session_id, card_no, participant_id),
            FOREIGN KEY (session_id, card_no) REFERENCES classroom.session_cards (session_id, card_no) ON DELETE CASCADE
        )""")
    op.execute("CREATE INDEX answers_session ON classroom.answers (zone_id, org_id, session_id, card_no)")

    op.execute("""
        CREATE TABLE classroom.messages (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            session_id uuid NOT NULL,
            participant_id uuid,
            author text NOT NULL CHECK (length(author) BETWEEN 1 AND 64),
            body text NOT NULL CHECK (length(body) BETWEEN 1 AND 200),
            status text NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'hidden', 'held')),
            moderated boolean NOT NULL DEFAULT false,
            reason text CHECK (length(reason) <= 200),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (id, created_at)
        ) PARTITION BY RANGE (created_at)""")
    op.execute("CREATE INDEX idx_messages_session_time ON classroom.messages (zone_id, org_id, session_id, created_at)")

    op.execute("""
        CREATE TABLE classroom.session_logs (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            session_id uuid NOT NULL,
            kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
            payload jsonb NOT NULL DEFAULT '{}',
            at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (id, at)
        ) PARTITION BY RANGE (at)""")
    op.execute("CREATE INDEX session_logs_session ON classroom.session_logs (zone_id, org_id, session_id, at)")

    op.execute("""
        CREATE TABLE classroom.moderation_words (
            zone_id integer NOT NULL,
            org_id uuid NOT NULL,
            word text NOT NULL CHECK (length(word) BETWEEN 1 AND 64),
            lang text NOT NULL DEFAULT 'any' CHECK (lang IN ('ko', 'en', 'any')),
            kind text NOT NULL DEFAULT 'block' CHECK (kind IN ('block', 'allow')),
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, org_id, word)
        )""")

    for table in TENANT_TABLES:
        for stmt in tenant_rls_statements("classroom", table):
            op.execute(stmt)
    # Anonymous join (see the module docstring): one active session, by code, in the request's zone.
    op.execute("""
        CREATE POLICY code_lookup ON classroom.sessions FOR SELECT USING (
            (SELECT current_setting('app.role', true)) = 'guest'
            AND zone_id = (SELECT nullif(current_setting('app.zone_id', true), '')::int)
            AND (SELECT nullif(current_setting('app.session_code', true), '')) IN (code, homework_code))""")

    for stmt in outbox_ddl("classroom"):
        op.execute(stmt)

    # The lock is shared with drop_month_partitions_before: partitions are added or dropped one at a time.
    op.execute(ensure_month_partitions_sql("classroom", PARTITIONED, lock="classroom.month_partitions"))
    op.execute(DROP_PARTITIONS)
    app = app_role("classroom")
    for fn in ("ensure_month_partitions(date, integer)", "drop_month_partitions_before(text, timestamptz)"):
        op.execute(f"REVOKE ALL ON FUNCTION classroom.{fn} FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION classroom.{fn} TO "{app}"')
    for parent in PARTITIONED:
        op.execute(f"CREATE TABLE classroom.{parent}_default PARTITION OF classroom.{parent} DEFAULT")
        for stmt in tenant_rls_statements("classroom", f"{parent}_default"):
            op.execute(stmt)
    op.execute("SELECT classroom.ensure_month_partitions((date_trunc('month', now()) - interval '1 month')::date, 4)")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS classroom.ensure_month_partitions(date, integer)")
    op.execute("DROP FUNCTION IF EXISTS classroom.drop_month_partitions_before(text, timestamptz)")
    op.execute("DROP POLICY IF EXISTS code_lookup ON classroom.sessions")
    for table in reversed(TENANT_TABLES):
        for stmt in drop_tenant_rls_statements("classroom", table):
            op.execute(stmt)
    for stmt in outbox_drop_ddl("classroom"):
        op.execute(stmt)
    op.execute("DROP TABLE IF EXISTS classroom.moderation_words, classroom.session_logs, classroom.messages,"
               " classroom.answers, classroom.session_cards, classroom.problems, classroom.participants,"
               " classroom.sessions CASCADE")
