"""Alembic per service schema: each service folder has `migrations/` and its own version table.

Migrations run as the service's owner role, so the tables belong to it and the app role's
privileges come from the default privileges set at bootstrap.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

SERVICES_DIR = Path(__file__).resolve().parents[3] / "services"


def sync_url(url: str) -> str:
    u = make_url(url.replace("postgres://", "postgresql://", 1))
    return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def alembic_config(service: str, owner_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sync_url(owner_url).replace("%", "%%"))
    cfg.attributes["schema"] = service
    return cfg


def upgrade(service: str, owner_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, owner_url), revision)


def downgrade(service: str, owner_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, owner_url), revision)


def has_migrations(service: str) -> bool:
    return (SERVICES_DIR / service / "migrations").is_dir()


def migrate_all(admin_url: str) -> None:
    """Bootstrap roles/schemas (needs a superuser URL) and run every service's migrations as
    that service's owner role, in the database of `admin_url`."""
    from megacity.db import bootstrap
    from megacity.db.engine import with_database
    from megacity.zones import registry

    bootstrap.bootstrap(admin_url)
    dbname = make_url(admin_url).database or ""
    for service in registry().services:
        if has_migrations(service):
            upgrade(service, with_database(admin_url, dbname, bootstrap.owner_role(service)))
