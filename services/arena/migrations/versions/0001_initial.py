"""Arena schema (seed 003, made tenant-safe): players, Glicko-2 ratings and their changes, tiers,
questions with MiniLM embeddings (pgvector HNSW), categories, matches, rounds, round answers,
appeals, the wrong-answer notebook, fair-play flags, weekly leagues; outbox/inbox.

Tenancy:
- A zone's arena is one community: players, ratings, matches and leagues are zone-level rows
  (`zone_id = app.zone_id`), so students of different schools in a zone can be paired.
- Questions and categories belong to an org, or to the whole zone when `org_id` IS NULL
  (zone-shared sets). Every actor of the zone reads shared rows; an org's rows only that org (and
  zone/super admins of the zone). Writes: an org's rows by that org, shared rows by zone/super admins.
- The notebook is personal: `user_id = app.user_id` (and zone/super admins of the zone).
- `tiers` is reference data (no tenant).

The `vector` extension is created by the superuser bootstrap (megacity.db.bootstrap), in `public`.

Revision ID: 0001
"""
from alembic import op

from megacity.db.rls import drop_tenant_rls_statements, tenant_rls_statements
from megacity.events.outbox import outbox_ddl, outbox_drop_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ZONE_TABLES = ("players", "ratings", "rating_changes", "matches", "match_players", "match_rounds", "round_answers",
               "appeals", "fairplay_flags", "league_members")
SHARED_TABLES = ("categories", "questions", "question_categories")
EMBEDDING_DIM = 384  # all-MiniLM-L6-v2

_ZONE = "(SELECT nullif(current_setting('app.zone_id', true), '')::int)"
_ORG = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
_ROLE = "(SELECT current_setting('app.role', true))"
_USER = "(SELECT nullif(current_setting('app.user_id', true), '')::uuid)"
_ZONE_STAFF = f"{_ROLE} IN ('zone_admin', 'super_admin')"

TIERS = (  # name, min tier points, max tier points (tier points = rating, floored at 0)
    ("Bronze", 0, 1199), ("Silver", 1200, 1399), ("Gold", 1400, 1599), ("Platinum", 1600, 1799),
    ("Diamond", 1800, 1999), ("Master", 2000, 2199), ("Grandmaster", 2200, 2399), ("Challenger", 2400, 99999))


def _shared_policies(table: str) -> list[str]:
    t = f"arena.{table}"
    read = f"zone_id = {_ZONE} AND (org_id IS NULL OR org_id = {_ORG} OR {_ZONE_STAFF})"
    write = f"zone_id = {_ZONE} AND ((org_id IS NOT NULL AND org_id = {_ORG}) OR {_ZONE_STAFF})"
    return [f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY", f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY shared_read ON {t} FOR SELECT USING ({read})",
            f"CREATE POLICY org_insert ON {t} FOR INSERT WITH CHECK ({write})",
            f"CREATE POLICY org_update ON {t} FOR UPDATE USING ({write}) WITH CHECK ({write})",
            f"CREATE POLICY org_delete ON {t} FOR DELETE USING ({write})"]


def upgrade() -> None:
    op.execute("""
        CREATE TABLE arena.tiers (
            id smallint PRIMARY KEY,
            name text NOT NULL UNIQUE,
            min_points integer NOT NULL,
            max_points integer NOT NULL,
            icon text NOT NULL,
            CHECK (max_points >= min_points)
        )""")
    values = ", ".join(f"({i}, '{n}', {lo}, {hi}, 'tiers/{n.lower()}.svg')" for i, (n, lo, hi) in enumerate(TIERS, 1))
    op.execute(f"INSERT INTO arena.tiers (id, name, min_points, max_points, icon) VALUES {values}")

    # --- players (owner: players/ratings) ---
    op.execute("""
        CREATE TABLE arena.players (
            zone_id integer NOT NULL,
            user_id uuid NOT NULL,
            org_id uuid,
            nickname text NOT NULL CHECK (length(nickname) BETWEEN 1 AND 80),
            nickname_key text NOT NULL,
            avatar text NOT NULL DEFAULT 'default' CHECK (length(avatar) BETWEEN 1 AND 64),
            wins integer NOT NULL DEFAULT 0 CHECK (wins >= 0),
            losses integer NOT NULL DEFAULT 0 CHECK (losses >= 0),
            draws integer NOT NULL DEFAULT 0 CHECK (draws >= 0),
            xp bigint NOT NULL DEFAULT 0 CHECK (xp >= 0),
            tier_points integer NOT NULL DEFAULT 1500,
            cheater boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_played_at timestamptz,
            PRIMARY KEY (zone_id, user_id),
            UNIQUE (zone_id, nickname_key)
        )""")

    # One Glicko-2 rating per (player, topic); topic '' is the overall ranked rating, else a category id.
    op.execute("""
        CREATE TABLE arena.ratings (
            zone_id integer NOT NULL,
            user_id uuid NOT NULL,
            topic text NOT NULL DEFAULT '' CHECK (length(topic) <= 64),
            rating double precision NOT NULL DEFAULT 1500,
            rd double precision NOT NULL DEFAULT 350 CHECK (rd BETWEEN 0 AND 350),
            volatility double precision NOT NULL DEFAULT 0.06 CHECK (volatility > 0),
            games integer NOT NULL DEFAULT 0 CHECK (games >= 0),
            last_rated_at timestamptz,
            PRIMARY KEY (zone_id, user_id, topic),
            FOREIGN KEY (zone_id, user_id) REFERENCES arena.players (zone_id, user_id) ON DELETE CASCADE
        )""")
    op.execute("CREATE INDEX ratings_board ON arena.ratings (zone_id, topic, rating DESC) WHERE rd <= 75 AND games >= 10")

    # Exactly-once guard for every rating change: one row per (match, player, topic, reason).
    op.execute("""
        CREATE TABLE arena.rating_changes (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            zone_id integer NOT NULL,
            match_id uuid NOT NULL,
            user_id uuid NOT NULL,
            topic text NOT NULL DEFAULT '',
            reason text NOT NULL CHECK (reason IN ('match', 'refund', 'appeal')),
            rating_before double precision NOT NULL,
            rating_after double precision NOT NULL,
            rd_before double precision NOT NULL,
            rd_after double precision NOT NULL,
            volatility_before double precision NOT NULL,
            volatility_after double precision NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (match_id, user_id, topic, reason)
        )""")
    op.execute("CREATE INDEX rating_changes_user ON arena.rating_changes (zone_id, user_id, created_at DESC)")

    # --- questions (owner: questions/similar/grading) ---
    op.execute("""
        CREATE TABLE arena.categories (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid,
            parent_id uuid REFERENCES arena.categories (id) ON DELETE RESTRICT,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            created_at timestamptz NOT NULL DEFAULT now(),
            CHECK (parent_id IS DISTINCT FROM id)
        )""")
    nil = "'00000000-0000-0000-0000-000000000000'::uuid"
    op.execute(f"CREATE UNIQUE INDEX categories_name ON arena.categories"
               f" (zone_id, coalesce(org_id, {nil}), coalesce(parent_id, {nil}), lower(name))")

    op.execute(f"""
        CREATE TABLE arena.questions (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            org_id uuid,
            type text NOT NULL CHECK (type IN ('mc', 'short', 'free')),
            content text NOT NULL CHECK (length(content) BETWEEN 1 AND 2000),
            choices jsonb CHECK (choices IS NULL OR jsonb_typeof(choices) = 'array'),
            answer text NOT NULL DEFAULT '' CHECK (length(answer) <= 500),
            aliases jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(aliases) = 'array'),
            rubric text NOT NULL DEFAULT '' CHECK (length(rubric) <= 2000),
            explanation text NOT NULL DEFAULT '' CHECK (length(explanation) <= 4000),
            difficulty smallint NOT NULL DEFAULT 3 CHECK (difficulty BETWEEN 1 AND 5),
            rating double precision NOT NULL DEFAULT 1500,
            rd double precision NOT NULL DEFAULT 350,
            volatility double precision NOT NULL DEFAULT 0.06,
            plays integer NOT NULL DEFAULT 0,
            embedding public.vector({EMBEDDING_DIM}),
            embedding_status text NOT NULL DEFAULT 'pending' CHECK (embedding_status IN ('pending', 'ready')),
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CHECK (type <> 'mc' OR choices IS NOT NULL)
        )""")
    op.execute("CREATE INDEX questions_tenant ON arena.questions (zone_id, org_id, created_at DESC)")
    op.execute("CREATE INDEX questions_embedding_pending ON arena.questions (zone_id) WHERE embedding_status = 'pending'")
    op.execute("CREATE INDEX questions_embedding_hnsw ON arena.questions USING hnsw (embedding public.vector_cosine_ops)"
               " WITH (m = 16, ef_construction = 64)")

    op.execute("""
        CREATE TABLE arena.question_categories (
            zone_id integer NOT NULL,
            org_id uuid,
            question_id uuid NOT NULL REFERENCES arena.questions (id) ON DELETE CASCADE,
            category_id uuid NOT NULL REFERENCES arena.categories (id) ON DELETE CASCADE,
            PRIMARY KEY (question_id, category_id)
        )""")
    op.execute("CREATE INDEX question_categories_category ON arena.question_categories (category_id)")

    # --- matches (owner: matches/live; matchmaking creates them through matches.service) ---
    op.execute("""
        CREATE TABLE arena.matches (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            mode text NOT NULL CHECK (mode IN ('ranked', 'casual', 'practice')),
            topic text NOT NULL DEFAULT '' CHECK (length(topic) <= 64),
            opponent_kind text NOT NULL DEFAULT 'human' CHECK (opponent_kind IN ('human', 'bot', 'ghost')),
            ghost_of uuid,
            ghost_seat smallint CHECK (ghost_seat IN (0, 1)),  -- the seat of ghost_of replayed
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'finished', 'aborted')),
            round_count smallint NOT NULL CHECK (round_count BETWEEN 1 AND 20),
            round_seconds smallint NOT NULL CHECK (round_seconds BETWEEN 5 AND 300),
            current_round smallint NOT NULL DEFAULT 1,
            rated boolean NOT NULL DEFAULT false,
            unrated_reason text,
            winner_user_id uuid,
            end_reason text CHECK (end_reason IN ('completed', 'forfeit', 'disconnect', 'aborted')),
            created_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            ratings_applied_at timestamptz
        )""")
    op.execute("CREATE INDEX matches_active ON arena.matches (zone_id, created_at) WHERE status = 'active'")
    op.execute("CREATE INDEX matches_finished ON arena.matches (zone_id, finished_at DESC) WHERE status = 'finished'")

    op.execute("""
        CREATE TABLE arena.match_players (
            zone_id integer NOT NULL,
            match_id uuid NOT NULL REFERENCES arena.matches (id) ON DELETE CASCADE,
            seat smallint NOT NULL CHECK (seat IN (0, 1)),
            kind text NOT NULL DEFAULT 'human' CHECK (kind IN ('human', 'bot', 'ghost')),
            user_id uuid,
            org_id uuid,
            rating_before double precision,
            score integer NOT NULL DEFAULT 0,
            correct smallint NOT NULL DEFAULT 0,
            outcome text CHECK (outcome IN ('win', 'loss', 'draw')),
            forfeited boolean NOT NULL DEFAULT false,
            disconnected_at timestamptz,
            client_address text,
            active boolean NOT NULL DEFAULT true,  -- true while the match is active: one per player
            PRIMARY KEY (match_id, seat),
            CHECK ((kind = 'human') = (user_id IS NOT NULL))
        )""")
    op.execute("CREATE INDEX match_players_user ON arena.match_players (zone_id, user_id, match_id)")
    # A player is in at most one active match (the engine clears `active` when the match ends).
    op.execute("CREATE UNIQUE INDEX match_players_one_active ON arena.match_players (zone_id, user_id)"
               " WHERE active AND user_id IS NOT NULL")

    op.execute("""
        CREATE TABLE arena.match_rounds (
            zone_id integer NOT NULL,
            match_id uuid NOT NULL REFERENCES arena.matches (id) ON DELETE CASCADE,
            round_no smallint NOT NULL CHECK (round_no >= 1),
            question_id uuid NOT NULL REFERENCES arena.questions (id),
            started_at timestamptz,
            deadline timestamptz,
            closed_at timestamptz,
            -- started_at is when the round is due; announcing it (round_start) resets it to the real start
            announced_at timestamptz,
            PRIMARY KEY (match_id, round_no)
        )""")
    op.execute("CREATE INDEX match_rounds_open ON arena.match_rounds (deadline) WHERE closed_at IS NULL AND started_at IS NOT NULL")

    op.execute("""
        CREATE TABLE arena.round_answers (
            zone_id integer NOT NULL,
            match_id uuid NOT NULL,
            round_no smallint NOT NULL,
            seat smallint NOT NULL,
            user_id uuid,
            question_id uuid NOT NULL,
            answer text NOT NULL DEFAULT '' CHECK (length(answer) <= 2000),
            answered_at timestamptz NOT NULL DEFAULT now(),
            elapsed_ms integer NOT NULL CHECK (elapsed_ms >= 0),
            verdict text NOT NULL CHECK (verdict IN ('correct', 'partial', 'wrong', 'pending', 'timeout')),
            score real NOT NULL DEFAULT 0 CHECK (score IN (0, 0.5, 1)),
            points integer NOT NULL DEFAULT 0,
            grader text NOT NULL DEFAULT 'exact' CHECK (grader IN ('exact', 'alias', 'numeric', 'llm', 'none', 'appeal')),
            rubric_hits jsonb NOT NULL DEFAULT '[]',
            feedback text NOT NULL DEFAULT '',
            PRIMARY KEY (match_id, round_no, seat),
            FOREIGN KEY (match_id, round_no) REFERENCES arena.match_rounds (match_id, round_no) ON DELETE CASCADE
        )""")
    op.execute("CREATE INDEX round_answers_user ON arena.round_answers (zone_id, user_id, question_id)")
    # Graded examples of one question for the LLM grader's prompt (grading.llm.examples_for).
    op.execute("CREATE INDEX round_answers_question ON arena.round_answers (zone_id, question_id)")
    op.execute("CREATE INDEX round_answers_pending ON arena.round_answers (zone_id) WHERE verdict = 'pending'")

    op.execute("""
        CREATE TABLE arena.appeals (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            match_id uuid NOT NULL,
            round_no smallint NOT NULL,
            seat smallint NOT NULL,
            user_id uuid NOT NULL,
            reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
            status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'overturned')),
            decided_by uuid,
            decided_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (match_id, round_no, seat),
            FOREIGN KEY (match_id, round_no, seat) REFERENCES arena.round_answers (match_id, round_no, seat) ON DELETE CASCADE
        )""")

    op.execute("""
        CREATE TABLE arena.notebook (
            zone_id integer NOT NULL,
            user_id uuid NOT NULL,
            question_id uuid NOT NULL REFERENCES arena.questions (id) ON DELETE CASCADE,
            bookmarked boolean NOT NULL DEFAULT false,
            wrong_count integer NOT NULL DEFAULT 0,
            last_answer text NOT NULL DEFAULT '',
            ai_feedback text NOT NULL DEFAULT '',
            last_match_id uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (zone_id, user_id, question_id)
        )""")

    op.execute("""
        CREATE TABLE arena.fairplay_flags (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id integer NOT NULL,
            user_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('sandbagging', 'boosting', 'timing', 'related_win', 'cheater')),
            level text NOT NULL CHECK (level IN ('warn', 'flag')),
            details jsonb NOT NULL DEFAULT '{}',
            status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'confirmed')),
            reviewed_by uuid,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX fairplay_flags_user ON arena.fairplay_flags (zone_id, user_id, created_at DESC)")

    op.execute("""
        CREATE TABLE arena.league_members (
            zone_id integer NOT NULL,
            week_start date NOT NULL,
            user_id uuid NOT NULL,
            league smallint NOT NULL CHECK (league BETWEEN 0 AND 9),
            group_no integer NOT NULL,
            xp bigint NOT NULL DEFAULT 0,
            outcome text CHECK (outcome IN ('promoted', 'demoted', 'stayed')),
            PRIMARY KEY (zone_id, week_start, user_id)
        )""")
    op.execute("CREATE INDEX league_members_group ON arena.league_members (zone_id, week_start, league, group_no)")

    for table in ZONE_TABLES:
        for stmt in tenant_rls_statements("arena", table, org_column=None):
            op.execute(stmt)
    for table in SHARED_TABLES:
        for stmt in _shared_policies(table):
            op.execute(stmt)
    personal = f"zone_id = {_ZONE} AND (user_id = {_USER} OR {_ZONE_STAFF})"
    op.execute("ALTER TABLE arena.notebook ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE arena.notebook FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY personal ON arena.notebook USING ({personal}) WITH CHECK ({personal})")
    for stmt in outbox_ddl("arena"):
        op.execute(stmt)


def downgrade() -> None:
    for stmt in outbox_drop_ddl("arena"):
        op.execute(stmt)
    for table in ZONE_TABLES:
        for stmt in drop_tenant_rls_statements("arena", table):
            op.execute(stmt)
    for table in ("league_members", "fairplay_flags", "notebook", "appeals", "round_answers", "match_rounds",
                  "match_players", "matches", "question_categories", "questions", "categories", "rating_changes",
                  "ratings", "players", "tiers"):
        op.execute(f"DROP TABLE IF EXISTS arena.{table}")
