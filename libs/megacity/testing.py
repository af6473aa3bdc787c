"""Pytest fixtures for tests against the real PostgreSQL, Redis and NATS (no mocks).

Isolation: every test gets its own database (cloned from a migrated template made once per
session), its own Redis key prefix and its own NATS namespace (stream and subject names).
Servers come from MC_TEST_PG_URL / MC_TEST_REDIS_URL / MC_TEST_NATS_URL (local defaults).
"""
from __future__ import annotations

import importlib
import os
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator, Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from megacity.db import bootstrap, migrations
from megacity.zones import registry

if TYPE_CHECKING:
    from megacity.runtime import ServiceRuntime

PG_URL = os.environ.get("MC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("MC_TEST_NATS_URL", "nats://127.0.0.1:4222")


def db_url(dbname: str, user: str | None = None, base: str = PG_URL) -> str:
    u = make_url(base)
    if user:
        u = u.set(username=user, password=None)
    return u.set(database=dbname).render_as_string(hide_password=False)


def _admin() -> psycopg.Connection:
    return psycopg.connect(PG_URL, autocommit=True)


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass(frozen=True)
class TestDatabase:
    """A throwaway database with every service's roles, schema and migrations applied."""

    __test__ = False

    name: str

    @property
    def admin_url(self) -> str:
        return db_url(self.name)

    def owner_url(self, service: str) -> str:
        return db_url(self.name, bootstrap.owner_role(service))

    def app_url(self, service: str) -> str:
        return db_url(self.name, bootstrap.app_role(service))


def migrate_all(admin_url: str) -> None:
    """Bootstrap roles/schemas and run every service's migrations that exist."""
    bootstrap.bootstrap(admin_url)
    dbname = make_url(admin_url).database
    for service in registry().services:
        if (migrations.SERVICES_DIR / service / "migrations").is_dir():
            migrations.upgrade(service, db_url(dbname, bootstrap.owner_role(service), admin_url))


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    name = f"mc_tmpl_{uuid.uuid4().hex[:10]}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        migrate_all(db_url(name))
        yield name
    finally:
        with _admin() as conn:
            _drop(conn, name)


@pytest.fixture
def test_db(template_db: str) -> Iterator[TestDatabase]:
    name = f"mc_t_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template_db)))
    try:
        yield TestDatabase(name)
    finally:
        with _admin() as conn:
            _drop(conn, name)


@pytest.fixture
def namespace() -> str:
    """A unique name for this test's NATS streams/subjects and Redis keys."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def redis_client(namespace: str) -> AsyncIterator[object]:
    from megacity.redis_client import make_redis

    client = make_redis(REDIS_URL)
    try:
        yield client
    finally:
        keys = [k async for k in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def nats_client(namespace: str) -> AsyncIterator[object]:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        yield nc
    finally:
        js = nc.jetstream()
        for stream in await js.streams_info():
            if stream.config.name.lower().startswith(namespace.lower()):
                await js.delete_stream(stream.config.name)
        await nc.drain()


@asynccontextmanager
async def run_service(name: str, db: TestDatabase | None, namespace: str, **overrides: object) -> AsyncIterator["ServiceRuntime"]:
    """Start one service in this process on free ports against the test's database, Redis
    prefix and NATS namespace; stop it (draining) afterwards."""
    main = importlib.import_module(f"services.{name}.main")
    settings_cls = importlib.import_module(f"services.{name}.settings").Settings
    has_db = db is not None and (migrations.SERVICES_DIR / name / "migrations").is_dir()
    values: dict[str, object] = {
        "environment": "test", "http_port": 0, "grpc_port": 0, "redis_url": REDIS_URL, "nats_url": NATS_URL,
        "events_namespace": namespace, "redis_key_prefix": namespace,
        "database_url": db.app_url(name) if has_db and db else "",
    }
    values.update(overrides)
    runtime = main.build(settings_cls(**values))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop(grace=2)
