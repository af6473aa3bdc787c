"""The body of every service's migrations/env.py (which is one call to `run()`)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text


def run() -> None:
    cfg = context.config
    schema = cfg.attributes["schema"]
    url = cfg.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic config has no sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        conn.execute(text("SELECT set_config('search_path', :p, false)"), {"p": f"{schema}, public"})
        # One migrator at a time per schema (several replicas may start together).
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
        conn.commit()
        try:
            context.configure(connection=conn, version_table_schema=schema, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:s))"), {"s": f"migrate:{schema}"})
            conn.commit()
