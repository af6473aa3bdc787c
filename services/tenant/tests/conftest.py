"""Fixtures for the tenant service tests: the real service (run_service) on a per-test database,
Redis prefix and NATS namespace; tokens from the test mint; auth's `LookupUsers` answered by a
small real gRPC server (a test double of the peer service, over real gRPC)."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy import text

from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
from megacity.auth.permissions import permissions_for
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.testing import TestDatabase, TokenMint, run_service, superuser_sql
from services.tenant.pii import tenant_pii
from services.tenant.settings import Settings

HOSTS = {1: "api.univprepai.com", 2: "api.collegeprepai.com"}
# The keys a test's tenant service runs with (the development keys): rows a test writes by SQL are
# sealed the same way (`services.tenant.pii`).
TEST_PII = tenant_pii(Settings(environment="test"))
# A student's phone columns in a test's own INSERT: `STUDENT_PHONE_COLUMNS ... VALUES (..., :pe, :pi, :kid)`.
STUDENT_PHONE_COLUMNS = "parent_phone_encrypted, parent_phone_index, pii_key_id"


def sealed_phone(phone: str = "01012345678") -> dict[str, Any]:
    """The `:pe, :pi, :kid` parameters of STUDENT_PHONE_COLUMNS for `phone`."""
    encrypted, index = TEST_PII.seal_phone(phone)
    return {"pe": encrypted, "pi": index, "kid": TEST_PII.key_id}


class FakeAuth(auth_pb2_grpc.AuthServiceServicer):
    """LookupUsers over real gRPC, from an in-memory user list."""

    def __init__(self) -> None:
        self.users: dict[uuid.UUID, auth_pb2.User] = {}

    def add(self, zone_id: int, email: str, name: str = "") -> uuid.UUID:
        user_id = uuid.uuid4()
        self.users[user_id] = auth_pb2.User(id=str(user_id), zone_id=zone_id, email=email.lower(), display_name=name)
        return user_id

    async def LookupUsers(self, request, context):  # noqa: N802 - gRPC method name
        emails = {e.lower() for e in request.emails}
        ids = set(request.user_ids)
        return auth_pb2.UserList(users=[u for u in self.users.values() if u.zone_id == request.zone_id
                                        and (u.email in emails or u.id in ids)])


@pytest.fixture
async def fake_auth() -> AsyncIterator[tuple[FakeAuth, str]]:
    servicer = FakeAuth()
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


@dataclass
class Actor:
    zone_id: int
    role: str
    org_id: uuid.UUID | None
    user_id: uuid.UUID
    token: str

    @property
    def host(self) -> str:
        return HOSTS[self.zone_id]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Host": self.host}

    @property
    def principal(self) -> Principal:
        """The caller as a service function takes it (what the token would verify to)."""
        return Principal(user_id=self.user_id, zone_id=self.zone_id, org_id=self.org_id, role=self.role,
                         permissions=frozenset(permissions_for(self.role)), jti=uuid.uuid4().hex, iat=0, exp=0)


@dataclass
class Tenant:
    """The running tenant service and helpers to talk to it."""

    runtime: Any
    db: TestDatabase
    mint: TokenMint
    auth: FakeAuth
    client: httpx.AsyncClient
    sessions: Any
    grpc_target: str
    truth: Any  # superuser engine: the view past RLS
    actors: list[Actor] = field(default_factory=list)

    def actor(self, zone_id: int, role: str, org_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
              ) -> Actor:
        user_id = user_id or uuid.uuid4()
        token = self.mint.token(zone_id=zone_id, role=role, org_id=org_id, user_id=user_id)
        return Actor(zone_id, role, org_id, user_id, token)

    async def make_org(self, zone_id: int, name: str = "Org") -> uuid.UUID:
        org = uuid.uuid4()
        async with tenant_transaction(self.sessions, TenantContext(zone_id, role="super_admin")) as s:
            await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, :z, :n)"),
                            {"id": org, "z": zone_id, "n": name})
        return org

    async def add_member(self, zone_id: int, org: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
        async with tenant_transaction(self.sessions, TenantContext(zone_id, role="super_admin")) as s:
            await s.execute(text("INSERT INTO tenant.memberships (zone_id, org_id, user_id, role)"
                                 " VALUES (:z, :o, :u, :r)"), {"z": zone_id, "o": org, "u": user_id, "r": role})

    async def sql(self, query: str, **params: Any) -> list[Any]:
        """SQL past RLS, every zone (as the database superuser)."""
        return await superuser_sql(self.truth, query, **params)


@pytest.fixture
async def tenant(test_db: TestDatabase, namespace: str, token_mint: TokenMint, fake_auth, redis_client
                 ) -> AsyncIterator[Tenant]:
    servicer, target = fake_auth
    async with run_service("tenant", test_db, namespace, grpc_peers={"auth": target}) as runtime:
        token_mint.install(runtime.app)
        engine = make_engine(test_db.app_url("tenant"), pool_size=2)
        truth = test_db.superuser_engine()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.http_port}", timeout=30) as client:
            try:
                yield Tenant(runtime, test_db, token_mint, servicer, client, make_sessionmaker(engine),
                             f"127.0.0.1:{runtime.grpc_port}", truth)
            finally:
                await runtime.app.state.roster_imports.wait_idle(timeout=30)
                await engine.dispose()
                await truth.dispose()
