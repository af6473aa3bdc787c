"""The account's language (issue #16: pages in the account's language, else the browser's):
`users.locale`, NULL until the user picks one ("as the browser says"), else one of the
languages the pages are translated into. A new language is a new CHECK (and catalogues).

Split so that logins and refreshes (whose locked read joins auth.users) never wait behind a scan:
the ADD COLUMN (nullable, no default: no rewrite) and the CHECK added NOT VALID (no scan) are
catalogue-only under the short ACCESS EXCLUSIVE lock, with a lock_timeout so the migration fails
rather than queueing every reader behind a long transaction. The VALIDATE scans under SHARE UPDATE
EXCLUSIVE (reads and writes go on) in its own transaction (alembic_env runs one transaction per
migration, so inside it the ACCESS EXCLUSIVE lock would still be held). The upgrade may be run
again after a failed VALIDATE (IF NOT EXISTS, the constraint re-added).

Rolling deploy: old replicas cache profiles without "locale", which new ones show as null for up
to the cache's TTL (120 s); tokens read the row, so only the account page's select is affected.

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("ALTER TABLE auth.users ADD COLUMN IF NOT EXISTS locale text")
    op.execute("ALTER TABLE auth.users DROP CONSTRAINT IF EXISTS users_locale_known,"
               " ADD CONSTRAINT users_locale_known CHECK (locale IN ('ko', 'en')) NOT VALID")
    with op.get_context().autocommit_block():  # commits the lines above: their lock is released
        op.execute("ALTER TABLE auth.users VALIDATE CONSTRAINT users_locale_known")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")  # ACCESS EXCLUSIVE, no scan: give up rather than queue
    op.execute("ALTER TABLE auth.users DROP COLUMN IF EXISTS locale")
