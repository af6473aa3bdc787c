"""Cluster set-up that needs a superuser: per-service owner and app roles, and their schemas.

- `mc_<svc>_owner` owns the schema and its tables and runs the migrations.
- `mc_<svc>_app` is what the service runs as: DML only, NOBYPASSRLS, not the owner, so
  FORCE ROW LEVEL SECURITY applies to it.

Run once per database: `python -m megacity.db.bootstrap --admin-url postgresql://postgres@host/db`.
Passwords come from `<SVC>_DB_OWNER_PASSWORD` / `<SVC>_DB_APP_PASSWORD` when set (trust/peer
auth needs none). Idempotent.
"""
from __future__ import annotations

import argparse
import os

import psycopg
from psycopg import sql

from megacity.zones import registry

# Extensions a service's tables need, created by the superuser in `public` (arena's question
# embeddings are pgvector columns; the owner role may not create extensions).
EXTENSIONS: dict[str, tuple[str, ...]] = {"arena": ("vector",)}


def owner_role(service: str) -> str:
    return f"mc_{service}_owner"


def app_role(service: str) -> str:
    return f"mc_{service}_app"


def _ensure_role(cur: psycopg.Cursor, role: str, password: str | None) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    if cur.fetchone() is None:
        try:
            cur.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                sql.Identifier(role)))
        except psycopg.errors.DuplicateObject:  # created concurrently by another bootstrap
            pass
    cur.execute(sql.SQL("ALTER ROLE {} NOBYPASSRLS").format(sql.Identifier(role)))
    if password:
        cur.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))


def bootstrap_service(conn: psycopg.Connection, service: str) -> None:
    """Roles, schema and default privileges for one service in the connected database."""
    env = service.upper()
    owner, app = owner_role(service), app_role(service)
    with conn.cursor() as cur:
        _ensure_role(cur, owner, os.environ.get(f"{env}_DB_OWNER_PASSWORD"))
        _ensure_role(cur, app, os.environ.get(f"{env}_DB_APP_PASSWORD"))
        o, a, s = sql.Identifier(owner), sql.Identifier(app), sql.Identifier(service)
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
            sql.Identifier(conn.info.dbname), o, a))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(s, o))
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, a))
        cur.execute(sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(o, s, a))
        cur.execute(sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(o, s, a))
        cur.execute(sql.SQL("ALTER ROLE {} SET search_path = {}, public").format(a, s))
        cur.execute(sql.SQL("ALTER ROLE {} SET search_path = {}, public").format(o, s))
        for extension in EXTENSIONS.get(service, ()):
            cur.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA public").format(sql.Identifier(extension)))


def bootstrap(admin_url: str, services: list[str] | None = None) -> None:
    names = services or list(registry().services)
    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for name in names:
            bootstrap_service(conn, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=os.environ.get("MC_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/megacity"))
    parser.add_argument("services", nargs="*")
    args = parser.parse_args()
    bootstrap(args.admin_url, args.services or None)
    print(f"bootstrapped {', '.join(args.services or registry().services)}")


if __name__ == "__main__":
    main()
