"""Fixtures for auth's tests: the real auth service and the real tenant service (for
ListMemberships at login) in-process on a per-test database, Redis prefix and NATS namespace.

Memberships are written straight into tenant's tables through tenant's own app role (as the
tenant tests do), then read by auth over tenant's real gRPC `ListMemberships`.
"""
from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.testing import TestDatabase, run_service, superuser_sql

HOSTS = {1: "api.univprepai.com", 2: "api.collegeprepai.com"}
PASSWORD = "Correct-Horse-9"
# Argon2id at a test cost (the production cost is exercised by the timing test).
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


def bearer(token: str, zone_id: int = 1) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Host": HOSTS[zone_id]}


def host(zone_id: int = 1, address: str | None = None) -> dict[str, str]:
    headers = {"Host": HOSTS[zone_id]}
    if address:
        headers["X-Forwarded-For"] = address
    return headers


def totp_now(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def jwt_parts(token: str) -> tuple[dict, dict, str]:
    import json

    def dec(part: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    h, p, s = token.split(".")
    return dec(h), dec(p), s


@dataclass
class AuthEnv:
    auth: Any
    tenant: Any
    db: TestDatabase
    client: httpx.AsyncClient
    auth_sessions: Any
    tenant_sessions: Any
    namespace: str
    redis: Any
    truth: Any  # superuser engine: the view past RLS

    # --- accounts -----------------------------------------------------------------------
    async def register(self, email: str, *, zone_id: int = 1, password: str = PASSWORD, phone: str | None = None,
                       address: str | None = None) -> uuid.UUID:
        body = {"email": email, "password": password, "display_name": email.split("@")[0]}
        if phone:
            body["phone"] = phone
        resp = await self.client.post("/api/v1/auth/register", json=body, headers=host(zone_id, address))
        assert resp.status_code == 201, resp.text
        return uuid.UUID(resp.json()["id"])

    async def login(self, email: str, *, zone_id: int = 1, password: str = PASSWORD, org_id: uuid.UUID | None = None,
                    address: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"email": email, "password": password}
        if org_id:
            body["org_id"] = str(org_id)
        return await self.client.post("/api/v1/auth/login", json=body, headers=host(zone_id, address))

    async def tokens(self, email: str, *, zone_id: int = 1, **kw: Any) -> dict[str, Any]:
        resp = await self.login(email, zone_id=zone_id, **kw)
        assert resp.status_code == 200 and resp.json()["mfa_required"] is False, resp.text
        return resp.json()

    async def user(self, email: str, *, zone_id: int = 1, **kw: Any) -> tuple[uuid.UUID, dict[str, Any]]:
        """Register and log in a guest; (user id, token response)."""
        user_id = await self.register(email, zone_id=zone_id)
        return user_id, await self.tokens(email, zone_id=zone_id, **kw)

    async def admin(self, email: str, *, zone_id: int = 1, role: str = "zone_admin") -> tuple[uuid.UUID, dict, str]:
        """An admin through the bootstrap CLI's function, logged in with TOTP: (id, tokens, secret)."""
        from services.auth.admin import create_admin

        zone_key = {1: "univ", 2: "college"}[zone_id]
        user_id, _ = await create_admin(self.auth_sessions, self.auth.app.state.auth.hasher, zone_key=zone_key,
                                        email=email, password=PASSWORD, display_name="Admin", role=role)
        challenge = (await self.login(email, zone_id=zone_id)).json()
        assert challenge["mfa_required"] and challenge["enrollment_required"], challenge
        secret = (await self.client.post("/api/v1/auth/mfa/totp/enroll", json={"mfa_token": challenge["mfa_token"]},
                                         headers=host(zone_id))).json()["secret"]
        resp = await self.client.post("/api/v1/auth/mfa/totp/verify", headers=host(zone_id),
                                      json={"mfa_token": challenge["mfa_token"], "code": totp_now(secret)})
        assert resp.status_code == 200, resp.text
        return user_id, resp.json(), secret

    async def me(self, token: str, zone_id: int = 1) -> httpx.Response:
        return await self.client.get("/api/v1/users/me", headers=bearer(token, zone_id))

    # --- tenant side ----------------------------------------------------------------------
    async def org(self, zone_id: int = 1, name: str = "Org") -> uuid.UUID:
        org = uuid.uuid4()
        async with tenant_transaction(self.tenant_sessions, TenantContext(zone_id, role="super_admin")) as s:
            await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, :z, :n)"),
                            {"id": org, "z": zone_id, "n": name})
        return org

    async def member(self, zone_id: int, org: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
        async with tenant_transaction(self.tenant_sessions, TenantContext(zone_id, role="super_admin")) as s:
            await s.execute(text("INSERT INTO tenant.memberships (zone_id, org_id, user_id, role)"
                                 " VALUES (:z, :o, :u, :r)"), {"z": zone_id, "o": org, "u": user_id, "r": role})

    # --- raw database ------------------------------------------------------------------------
    async def auth_sql(self, query: str, **params: Any) -> list[Any]:
        """SQL past RLS, every zone (as the database superuser)."""
        return await superuser_sql(self.truth, query, **params)


@pytest.fixture
def auth_overrides() -> dict[str, Any]:
    """Settings for the auth service under test; a test module may override this fixture."""
    return {}


@pytest.fixture
async def env(test_db: TestDatabase, namespace: str, redis_client, nats_client, auth_overrides
              ) -> AsyncIterator[AuthEnv]:
    tenant_engine = make_engine(test_db.app_url("tenant"), pool_size=2)
    auth_engine = make_engine(test_db.app_url("auth"), pool_size=2)
    truth = test_db.superuser_engine()
    try:
        async with run_service("tenant", test_db, namespace) as tenant:
            overrides = {**FAST_HASH, "grpc_peers": {"tenant": f"127.0.0.1:{tenant.grpc_port}"}, **auth_overrides}
            async with run_service("auth", test_db, namespace, **overrides) as auth:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{auth.http_port}", timeout=30) as client:
                    yield AuthEnv(auth, tenant, test_db, client, make_sessionmaker(auth_engine),
                                  make_sessionmaker(tenant_engine), namespace, redis_client, truth)
    finally:
        await tenant_engine.dispose()
        await auth_engine.dispose()
        await truth.dispose()
