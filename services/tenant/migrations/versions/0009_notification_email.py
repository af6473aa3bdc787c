"""Notification emails (issue #13 §3): each notification row is also its recipient's email job.

- `email_status` pending → sent | failed | skipped (no address, email off too long, or written
  before this migration: existing rows start as `skipped`, so turning email on never mails old
  news); `email_attempts`, `email_next_at` (the retry backoff and the claim of a sender that is
  trying it now), `emailed_at`, `email_error`.
- The sender (`services.tenant.notifications.email`) works per zone over every user's rows, so
  the RESTRICTIVE own-row policies of SELECT and UPDATE also pass in its scope: the setting
  `app.tenant_mailer = 'on'`, set only by that module, inside a transaction that still needs
  the zone-bounded permissive policies (it runs as the zone's `zone_admin`). Requests never set
  it: a list stays "mine".

Revision ID: 0009
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ME = "user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid)"
_MAILER = "(SELECT current_setting('app.tenant_mailer', true)) = 'on'"


def _own_rows(using: str) -> None:
    for command in ("SELECT", "UPDATE"):
        op.execute(f"DROP POLICY own_rows_{command.lower()} ON tenant.notifications")
        op.execute(f"CREATE POLICY own_rows_{command.lower()} ON tenant.notifications AS RESTRICTIVE"
                   f" FOR {command} USING ({using})")


def upgrade() -> None:
    # Existing rows get 'skipped' (the column default at ADD time); new rows 'pending'.
    op.execute("""
        ALTER TABLE tenant.notifications
            ADD COLUMN email_status text NOT NULL DEFAULT 'skipped'
                CHECK (email_status IN ('pending', 'sent', 'failed', 'skipped')),
            ADD COLUMN email_attempts integer NOT NULL DEFAULT 0,
            ADD COLUMN email_next_at timestamptz NOT NULL DEFAULT now(),
            ADD COLUMN emailed_at timestamptz,
            ADD COLUMN email_error text""")
    op.execute("ALTER TABLE tenant.notifications ALTER COLUMN email_status SET DEFAULT 'pending'")
    # The sender's poll: a zone's due rows. Partial: only pending rows (a few) are in it, so the
    # house rule of (zone_id, org_id) leading keys costs nothing when it scans a whole zone.
    op.execute("CREATE INDEX notifications_email_due ON tenant.notifications (zone_id, org_id, email_next_at)"
               " WHERE email_status = 'pending'")
    _own_rows(f"{_ME} OR {_MAILER}")


def downgrade() -> None:
    _own_rows(_ME)
    op.execute("DROP INDEX tenant.notifications_email_due")
    op.execute("ALTER TABLE tenant.notifications DROP COLUMN email_status, DROP COLUMN email_attempts,"
               " DROP COLUMN email_next_at, DROP COLUMN emailed_at, DROP COLUMN email_error")
