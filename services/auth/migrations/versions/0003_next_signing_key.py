"""Signing keys get a `next` state: published in the JWKS before it signs anything, so every
verifier already holds it when it becomes active (a rotation refuses no token anywhere).

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE auth.signing_keys DROP CONSTRAINT signing_keys_status_check,"
               " ADD CONSTRAINT signing_keys_status_check CHECK (status IN ('next', 'active', 'passive', 'retired'))")
    op.execute("CREATE UNIQUE INDEX signing_keys_one_next ON auth.signing_keys ((true)) WHERE status = 'next'")


def downgrade() -> None:
    op.execute("DROP INDEX auth.signing_keys_one_next")
    op.execute("DELETE FROM auth.signing_keys WHERE status = 'next'")
    op.execute("ALTER TABLE auth.signing_keys DROP CONSTRAINT signing_keys_status_check,"
               " ADD CONSTRAINT signing_keys_status_check CHECK (status IN ('active', 'passive', 'retired'))")
