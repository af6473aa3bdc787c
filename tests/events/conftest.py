"""Fixtures for the event machinery tests: a service-like schema with its own roles.

Each test bootstraps a throwaway service (`mc_ev…_owner` / `mc_ev…_app` and schema `ev…`) in
its own database, creates the outbox/inbox as the owner — as a migration would — and runs the
relay and consumers as the app role, so the default-privileges path is exercised for real.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from megacity.db import bootstrap, make_engine, make_sessionmaker
from megacity.db.rls import tenant_rls_statements
from megacity.events import ensure_streams, outbox_ddl
from megacity.telemetry_testing import span_exporter  # noqa: F401  (fixture)
from megacity.testing import TestDatabase


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@dataclass
class EventsDB:
    schema: str
    admin_url: str
    app_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run SQL as the superuser (the test's view of the truth); `{s}` is the schema."""
        with psycopg.connect(_plain(self.admin_url), autocommit=True) as conn:
            cur = conn.execute(statement.replace("{s}", f'"{self.schema}"'), params)
            return cur.fetchall() if cur.description else []


@pytest.fixture
async def events_db(test_db: TestDatabase) -> AsyncIterator[EventsDB]:
    service = f"ev{uuid.uuid4().hex[:8]}"
    owner, app = bootstrap.owner_role(service), bootstrap.app_role(service)
    with psycopg.connect(_plain(test_db.admin_url), autocommit=True) as conn:
        bootstrap.bootstrap_service(conn, service)
    with psycopg.connect(_plain(test_db.owner_url(service)), autocommit=True) as conn:
        for statement in outbox_ddl(service) + outbox_ddl(service):  # twice: idempotent
            conn.execute(statement)
        conn.execute(f'CREATE TABLE "{service}".effects (n serial PRIMARY KEY, msg_id text NOT NULL)')
        conn.execute(f'CREATE TABLE "{service}".notes (zone_id int NOT NULL, org_id uuid NOT NULL, body text)')
        for statement in tenant_rls_statements(service, "notes"):
            conn.execute(statement)
    engine = make_engine(test_db.app_url(service), pool_size=4)
    try:
        yield EventsDB(service, test_db.admin_url, test_db.app_url(service), engine, make_sessionmaker(engine))
    finally:
        await engine.dispose()
        with psycopg.connect(_plain(test_db.admin_url), autocommit=True) as conn:
            # One role per statement: both at once trips over the shared default-ACL entry.
            for role in (owner, app):
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}, {}").format(sql.Identifier(owner), sql.Identifier(app)))


@pytest.fixture
async def js(nats_client: Any, namespace: str) -> Any:
    js = nats_client.jetstream()
    await ensure_streams(js, namespace)
    return js


@pytest.fixture
def stream_count(js: Any) -> Any:
    """`await stream_count(name)`: messages now in a stream."""

    async def count(stream: str) -> int:
        return (await js.stream_info(stream)).state.messages

    return count
