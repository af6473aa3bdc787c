"""Pytest fixtures for tests against the real PostgreSQL, Redis and NATS (no mocks).

Isolation: every test gets its own database (cloned from a migrated template made once per
session), its own Redis key prefix and its own NATS namespace (stream and subject names).
Servers come from MC_TEST_PG_URL / MC_TEST_REDIS_URL / MC_TEST_NATS_URL (local defaults).
"""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from megacity.db import bootstrap, migrations
from megacity.db.engine import with_database
from megacity.db.migrations import migrate_all

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from megacity.auth.tokens import SigningKey
    from megacity.runtime import ServiceRuntime

PG_URL = os.environ.get("MC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("MC_TEST_NATS_URL", "nats://127.0.0.1:4222")


def db_url(dbname: str, user: str | None = None, base: str = PG_URL) -> str:
    return with_database(base, dbname, user)


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

    def superuser_engine(self) -> AsyncEngine:
        """An engine (one pooled connection) as the database superuser, for a harness that reads
        the truth past RLS often (`superuser_sql`); the harness disposes it."""
        from megacity.db import make_engine

        return make_engine(self.admin_url, pool_size=1)

    async def sql(self, query: str, **params: Any) -> list[Any]:
        """One-off `superuser_sql` on a throwaway engine."""
        engine = self.superuser_engine()
        try:
            return await superuser_sql(engine, query, **params)
        finally:
            await engine.dispose()


def spoken_wav(sentence: str, path: Path, words_per_minute: int = 130) -> bytes:
    """`sentence` spoken by espeak-ng (Debian package, installed by scripts/setup.sh) into `path`,
    a WAV the speech model transcribes; a missing espeak-ng is a failure, not a skip."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is missing: run scripts/setup.sh (Debian package espeak-ng)"
    subprocess.run([espeak, "-v", "en-us", "-s", str(words_per_minute), "-w", str(path), sentence],
                   check=True, timeout=120)
    return path.read_bytes()


async def superuser_sql(engine: AsyncEngine, query: str, **params: Any) -> list[Any]:
    """SQL (`:name` parameters) through a `superuser_engine`: the test's view of the truth past
    RLS, across every zone. No application context sees every zone (issue #9)."""
    from sqlalchemy import text

    async with engine.begin() as conn:
        result = await conn.execute(text(query), params)
        return list(result.all()) if result.returns_rows else []


def audit_outbox_sql(service: str, param: str = ":t") -> str:
    """The audit events of one action in `service`'s outbox, oldest first (`param`: the
    driver's placeholder for `audit.<action>`)."""
    return (f"SELECT subject, zone_id, org_id, payload FROM {service}.outbox"
            f" WHERE event_type = {param} ORDER BY id")


def audit_records(rows: Iterable[Any], *, service: str, action: str, zone_id: int) -> list[dict[str, Any]]:
    """Each (subject, zone_id, org_id, payload) row of `audit_outbox_sql`, checked as every audit
    event must be (subject, zone, service, action, the request's trace id), as its payload with
    `org_id` added: what a service's audit test asserts on."""
    records = []
    for subject, row_zone, org_id, payload in rows:
        assert subject == f"audit.{action}" and row_zone == zone_id
        assert payload["service"] == service and payload["action"] == action
        assert payload["trace_id"] and len(payload["trace_id"]) == 32
        records.append({**payload, "org_id": org_id})
    return records


@asynccontextmanager
async def outbox_audits(db: TestDatabase, service: str, zone_id: int
                        ) -> AsyncIterator[Callable[[str], Awaitable[list[dict[str, Any]]]]]:
    """`read(action)`: `audit_records` of `service`'s outbox, read past RLS on one superuser
    connection kept for the block."""
    truth = db.superuser_engine()

    async def read(action: str) -> list[dict[str, Any]]:
        rows = await superuser_sql(truth, audit_outbox_sql(service), t=f"audit.{action}")
        return audit_records(rows, service=service, action=action, zone_id=zone_id)

    try:
        yield read
    finally:
        await truth.dispose()


def audit_actor(actor: Any) -> dict[str, Any]:
    """The `actor` of an audit event a user's request left (`actor`: a test's actor)."""
    return {"user_id": str(actor.user_id), "role": actor.role, "kind": "user"}


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


async def _purge_namespace(namespace: str) -> None:
    """Delete the NATS streams and Redis keys a test made under its namespace."""
    import nats

    from megacity.redis_client import make_redis

    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            name = stream.config.name or ""
            if name.lower().startswith(namespace.lower() + "_"):
                await js.delete_stream(name)
    finally:
        await nc.close()
    client = make_redis(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{namespace}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    """A unique name for this test's NATS streams/subjects and Redis keys; purged afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    await _purge_namespace(name)


@pytest.fixture
async def redis_client(namespace: str) -> AsyncIterator[object]:
    from megacity.redis_client import make_redis

    client = make_redis(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def nats_client(namespace: str) -> AsyncIterator[object]:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        yield nc
    finally:
        await nc.drain()


@asynccontextmanager
async def run_service(name: str, db: TestDatabase | None, namespace: str, **overrides: object) -> AsyncIterator[ServiceRuntime]:
    """Start one service in this process on free ports against the test's database, Redis
    prefix and NATS namespace; stop it (draining) afterwards."""
    main = importlib.import_module(f"services.{name}.main")
    settings_cls = importlib.import_module(f"services.{name}.settings").Settings
    has_db = db is not None and migrations.has_migrations(name)
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


@dataclass
class TokenMint:
    """Signs real access tokens for tests of services other than auth (which has its own keys).

    `install(app)` makes a service verify against this mint's key instead of fetching auth's
    JWKS; everything else about verification (algorithm, claims, Redis revocation) is real.
    """

    key: SigningKey

    async def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.public_jwk()]}

    def install(self, app: object) -> None:
        from megacity.auth.verifier import JwksCache, TokenVerifier

        app.state.token_verifier = TokenVerifier(JwksCache(self.jwks))  # type: ignore[attr-defined]

    def token(self, *, zone_id: int, role: str, org_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None,
              sid: str | None = None) -> str:
        from megacity.auth.tokens import issue_access_token

        return issue_access_token(self.key, user_id=user_id or uuid.uuid4(), zone_id=zone_id, org_id=org_id,
                                  role=role, sid=sid)[0]


@pytest.fixture
def token_mint() -> TokenMint:
    from megacity.auth.tokens import SigningKey

    return TokenMint(SigningKey.generate())
