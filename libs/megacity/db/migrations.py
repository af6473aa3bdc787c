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
