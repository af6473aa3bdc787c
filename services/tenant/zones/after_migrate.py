"""The registry sync as the last step of every tenant migration run (`migrations/env.py` calls
`sync_after_upgrade()` after Alembic): an Alembic revision only knows the zones that existed
when it was written, so new, renamed and removed zones reach `tenant.zones` here instead — on
every migrate, hence on every start with `TENANT_MIGRATE_ON_START` and in every migration Job.

The sync only runs when the schema is at head: a downgrade, or an upgrade to an older
revision, leaves zone rows alone (the sync is written for the newest table)."""
from __future__ import annotations

from alembic import context
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from megacity.telemetry.logs import get_logger
from megacity.zones import registry, registry_path
from services.tenant.zones.service import ZoneSync, sync_registry

log = get_logger("tenant.zones")


def sync_after_upgrade() -> ZoneSync | None:
    """Sync zone rows over the migration's own URL (the owner role); None when not at head."""
    if context.is_offline_mode():  # `--sql` renders a script: there is no database to sync
        return None
    cfg = context.config
    schema = cfg.attributes["schema"]
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    engine = create_engine(cfg.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn, opts={"version_table_schema": schema}).get_current_heads())
            conn.rollback()
            if current != heads:
                log.info("zone sync skipped: schema not at head", current=sorted(current), heads=sorted(heads))
                return None
            with conn.begin():
                result = sync_registry(conn, registry())
    finally:
        engine.dispose()
    log.info("zones synced from the registry", registry=str(registry_path()), added=result.added,
             updated=result.updated, retired=result.retired)
    return result
