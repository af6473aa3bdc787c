"""Encrypted roster phones and emails with a blind index (issue #17 §3; `services.tenant.pii`).

`students.parent_phone`, `.email`, `.parent_email` and `teachers`/`parents` `.email`, `.phone`
become `<column>_encrypted` (AES-256-GCM token text, `megacity.pii.AeadPiiCipher`) + `<column>_index` (HMAC-SHA256, 32 bytes) and a
per-row `pii_key_id` (which keys wrote it). The match key and its unique index move to
`(zone_id, org_id, name, parent_phone_index)`; parents get indexes on their email and phone
digests (provisioning's lookups).

Existing rows are encrypted HERE, in the migration's one transaction, before the plaintext
columns are dropped, so no plaintext survives and no half-migrated state is ever visible. The
keys come from TENANT_PII_KEYS / TENANT_PII_INDEX_KEY in the migrating process's environment,
with the service's rules (`pii_from_environment`): development keys only when TENANT_ENVIRONMENT
is development/test; with rows to encrypt, an unset TENANT_ENVIRONMENT and a key missing is
refused (RuntimeError), not taken for development. A migration Job must therefore get the
same two keys as the service (and TENANT_ENVIRONMENT), see docs/runbooks/pii-key-rotation.md.
Owner role and FORCE'd RLS: the backfill lifts FORCE for these three tables inside the same
transaction (the owner then bypasses the policies) and restores it before commit.

No plaintext left on disk: the backfill UPDATE also sets the plaintext columns to NULL (the new
row versions hold none), and after the DROP COLUMN each table is rewritten with CLUSTER (allowed
in a transaction, unlike VACUUM FULL), which leaves the old (dead) row versions, their TOAST and
the dropped columns' values behind. Backups and WAL from before 0011 still hold plaintext: the
runbook says to expire them.

Revision ID: 0011
"""
from __future__ import annotations

from typing import Any

from alembic import op
from sqlalchemy import text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 1000
# table -> (column, kind) of its personal data
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "students": (("parent_phone", "phone"), ("email", "email"), ("parent_email", "email")),
    "teachers": (("email", "email"), ("phone", "phone")),
    "parents": (("email", "email"), ("phone", "phone")),
}


def _pii() -> Any:
    from services.tenant.pii import pii_from_environment

    return pii_from_environment()


def _batches(table: str, columns: list[str]) -> Any:
    """Rows of `table` in primary-key order, BATCH at a time (keyset)."""
    bind = op.get_bind()
    after: tuple[Any, ...] | None = None
    cols = ", ".join(columns)
    while True:
        rows = bind.execute(text(
            f"SELECT zone_id, org_id, id, {cols} FROM tenant.{table}"
            " WHERE CAST(:z AS int) IS NULL OR (zone_id, org_id, id) > (:z, :o, :i)"
            " ORDER BY zone_id, org_id, id LIMIT :n"),
            {"z": after[0] if after else None, "o": after[1] if after else None,
             "i": after[2] if after else None, "n": BATCH}).all()
        if not rows:
            return
        yield rows
        after = (rows[-1].zone_id, rows[-1].org_id, rows[-1].id)


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        adds = [f"ADD COLUMN {c}_encrypted text, ADD COLUMN {c}_index bytea" for c, _ in columns]
        op.execute(f"ALTER TABLE tenant.{table} {', '.join(adds)}, ADD COLUMN pii_key_id text")
        op.execute(f"ALTER TABLE tenant.{table} NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tenant.students ALTER COLUMN parent_phone DROP NOT NULL")  # nulled below
    has_rows = any(op.get_bind().execute(text(f"SELECT EXISTS (SELECT FROM tenant.{t})")).scalar()
                   for t in COLUMNS)
    if has_rows:
        pii = _pii()
        for table, columns in COLUMNS.items():
            sets = ", ".join(f"{c}_encrypted = v.{c}_e, {c}_index = v.{c}_i, {c} = NULL" for c, _ in columns)
            arrays = ", ".join(f"CAST(:{c}_e AS text[]), CAST(:{c}_i AS bytea[])" for c, _ in columns)
            names = ", ".join(f"{c}_e, {c}_i" for c, _ in columns)
            update = text(
                f"UPDATE tenant.{table} t SET {sets}, pii_key_id = :kid FROM unnest(CAST(:z AS int[]),"
                f" CAST(:o AS uuid[]), CAST(:i AS uuid[]), {arrays}) AS v(z, o, i, {names})"
                " WHERE t.zone_id = v.z AND t.org_id = v.o AND t.id = v.i")
            for rows in _batches(table, [c for c, _ in columns]):
                params: dict[str, Any] = {"kid": pii.key_id, "z": [r.zone_id for r in rows],
                                          "o": [r.org_id for r in rows], "i": [r.id for r in rows]}
                for column, kind in columns:
                    seal = pii.seal_phone if kind == "phone" else pii.seal_email
                    sealed = [seal(getattr(r, column)) for r in rows]
                    params[f"{column}_e"] = [e for e, _ in sealed]
                    params[f"{column}_i"] = [i for _, i in sealed]
                op.get_bind().execute(update, params)
    op.execute("DROP INDEX tenant.students_key_live")
    op.execute("DROP INDEX tenant.students_key_deleted")
    for table, columns in COLUMNS.items():
        drops = ", ".join(f"DROP COLUMN {c}" for c, _ in columns)
        checks = ", ".join(
            f"ADD CONSTRAINT {table}_{c}_sealed CHECK (({c}_encrypted IS NULL) = ({c}_index IS NULL)"
            f" AND ({c}_index IS NULL OR octet_length({c}_index) = 32))" for c, _ in columns)
        op.execute(f"ALTER TABLE tenant.{table} {drops}, {checks}")
        # '' (a row written without the keys' id, e.g. by hand): `rotate-pii` treats it as stale.
        op.execute(f"UPDATE tenant.{table} SET pii_key_id = '' WHERE pii_key_id IS NULL")
        op.execute(f"ALTER TABLE tenant.{table} ALTER COLUMN pii_key_id SET DEFAULT '',"
                   " ALTER COLUMN pii_key_id SET NOT NULL")
        op.execute(f"ALTER TABLE tenant.{table} FORCE ROW LEVEL SECURITY")
        # Rewrite the table: no dead row version (nor dropped column value) keeps plaintext.
        pkey = op.get_bind().execute(text(
            "SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND contype = 'p'"),
            {"t": f"tenant.{table}"}).scalar_one()
        op.execute(f'CLUSTER tenant.{table} USING "{pkey}"')
        op.execute(f"ALTER TABLE tenant.{table} SET WITHOUT CLUSTER")
    op.execute("ALTER TABLE tenant.students ALTER COLUMN parent_phone_encrypted SET NOT NULL,"
               " ALTER COLUMN parent_phone_index SET NOT NULL")
    # Seed 004 §5: the bulk-import match key, split by live / soft-deleted rows, on the digest.
    op.execute("CREATE UNIQUE INDEX students_key_live ON tenant.students"
               " (zone_id, org_id, name, parent_phone_index) WHERE deleted_at IS NULL")
    op.execute("CREATE INDEX students_key_deleted ON tenant.students"
               " (zone_id, org_id, name, parent_phone_index) WHERE deleted_at IS NOT NULL")
    op.execute("CREATE INDEX parents_email ON tenant.parents (zone_id, org_id, email_index)"
               " WHERE email_index IS NOT NULL AND deleted_at IS NULL")
    op.execute("CREATE INDEX parents_phone ON tenant.parents (zone_id, org_id, phone_index)"
               " WHERE phone_index IS NOT NULL AND deleted_at IS NULL")


def downgrade() -> None:
    """Back to plaintext (needs the keys, like the upgrade)."""
    op.execute("DROP INDEX tenant.parents_phone")
    op.execute("DROP INDEX tenant.parents_email")
    op.execute("DROP INDEX tenant.students_key_live")
    op.execute("DROP INDEX tenant.students_key_deleted")
    pii = None
    for table, columns in COLUMNS.items():
        op.execute(f"ALTER TABLE tenant.{table} " + ", ".join(f"ADD COLUMN {c} text" for c, _ in columns))
        op.execute(f"ALTER TABLE tenant.{table} NO FORCE ROW LEVEL SECURITY")
        sets = ", ".join(f"{c} = v.{c}" for c, _ in columns)
        arrays = ", ".join(f"CAST(:{c} AS text[])" for c, _ in columns)
        update = text(
            f"UPDATE tenant.{table} t SET {sets} FROM unnest(CAST(:z AS int[]), CAST(:o AS uuid[]),"
            f" CAST(:i AS uuid[]), {arrays}) AS v(z, o, i, {', '.join(c for c, _ in columns)})"
            " WHERE t.zone_id = v.z AND t.org_id = v.o AND t.id = v.i")
        for rows in _batches(table, [f"{c}_encrypted" for c, _ in columns]):
            pii = pii or _pii()
            params: dict[str, Any] = {"z": [r.zone_id for r in rows], "o": [r.org_id for r in rows],
                                      "i": [r.id for r in rows]}
            for column, _ in columns:
                params[column] = [pii.open(getattr(r, f"{column}_encrypted")) for r in rows]
            op.get_bind().execute(update, params)
        op.execute(f"ALTER TABLE tenant.{table} FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE tenant.{table} DROP COLUMN pii_key_id, "
                   + ", ".join(f"DROP COLUMN {c}_encrypted, DROP COLUMN {c}_index" for c, _ in columns))
    op.execute("ALTER TABLE tenant.students ALTER COLUMN parent_phone SET NOT NULL")
    op.execute("CREATE UNIQUE INDEX students_key_live ON tenant.students (zone_id, org_id, name, parent_phone)"
               " WHERE deleted_at IS NULL")
    op.execute("CREATE INDEX students_key_deleted ON tenant.students (zone_id, org_id, name, parent_phone)"
               " WHERE deleted_at IS NOT NULL")
