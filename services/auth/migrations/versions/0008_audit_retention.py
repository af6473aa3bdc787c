"""Retention of the audit tables (issue #17 §2): both stay append-only for the app role, and
only the owner's functions delete, only rows older than a year.

- `auth.retention_delete_audit_logs` / `auth.retention_delete_platform_audit`
  `(zone, cutoff, limit) -> rows deleted`: SECURITY DEFINER, owned by the owner role, EXECUTE
  for the app role only; a batch of the zone's rows older than the cutoff, but never younger
  than 366 days whatever cutoff is passed (366: at least the triggers' `1 year`, leap years
  included). RLS still applies (FORCE): the caller's zone_admin context bounds it to its zone.
- `auth.audit_logs_append_only()` now lets a DELETE of a row older than one year through (the
  rule `auth.platform_audit` has had since 0006); UPDATE and TRUNCATE are still refused, and the
  app role still has no DELETE privilege.

Revision ID: 0008
Revises: 0007
"""
import datetime as dt

from alembic import op

from megacity.db.bootstrap import app_role
from megacity.retention import owner_delete_function_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MIN_AGE = dt.timedelta(days=366)
FUNCTIONS = {"auth.retention_delete_audit_logs": ("auth.audit_logs", "created_at", "id"),
             "auth.retention_delete_platform_audit": ("auth.platform_audit", "occurred_at", "seq")}

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION auth.audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    __RETENTION__
    RAISE EXCEPTION 'auth.audit_logs is append-only' USING ERRCODE = 'insufficient_privilege';
END $$"""
RETENTION = """IF TG_OP = 'DELETE' AND OLD.created_at < now() - interval '1 year' THEN
        RETURN OLD;  -- retention
    END IF;"""


def upgrade() -> None:
    for fn, (table, column, key) in FUNCTIONS.items():
        op.execute(owner_delete_function_sql(fn, table, column, min_age=MIN_AGE, key=key))
        op.execute(f"REVOKE ALL ON FUNCTION {fn}(integer, timestamptz, integer) FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION {fn}(integer, timestamptz, integer) TO "{app_role("auth")}"')
    op.execute(APPEND_ONLY.replace("__RETENTION__", RETENTION))


def downgrade() -> None:
    op.execute(APPEND_ONLY.replace("__RETENTION__", ""))
    for fn in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn}(integer, timestamptz, integer)")
