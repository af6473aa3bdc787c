"""The auth–tenant contract end to end, both real services wired both ways: tenant verifies
auth's tokens through auth's JWKS and finds users with auth's LookupUsers; auth reads roles
with tenant's ListMemberships and ends sessions on tenant's member events."""
from __future__ import annotations

import asyncio
import socket

import httpx

from megacity.testing import run_service
from services.auth.tests.conftest import FAST_HASH, PASSWORD, bearer, host, totp_now


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_roles_flow_between_auth_and_tenant(test_db, namespace, redis_client, nats_client) -> None:
    from services.auth.admin import create_admin

    auth_http, auth_grpc = _free_port(), _free_port()
    async with run_service("tenant", test_db, namespace, grpc_peers={"auth": f"127.0.0.1:{auth_grpc}"},
                           jwks_url=f"http://127.0.0.1:{auth_http}/.well-known/jwks.json") as tenant, \
            run_service("auth", test_db, namespace, http_port=auth_http, grpc_port=auth_grpc,
                        grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}, **FAST_HASH) as auth, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{auth_http}", timeout=30) as a, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{tenant.http_port}", timeout=30) as t:
        # the zone's first admin, bootstrapped and through TOTP
        from megacity.db import make_engine, make_sessionmaker

        engine = make_engine(test_db.app_url("auth"), pool_size=1)
        try:
            await create_admin(make_sessionmaker(engine), auth.app.state.auth.hasher, zone_key="univ",
                               email="dean@example.com", password=PASSWORD, display_name="Dean", role="zone_admin")
        finally:
            await engine.dispose()
        challenge = (await a.post("/api/v1/auth/login", headers=host(),
                                  json={"email": "dean@example.com", "password": PASSWORD})).json()
        secret = (await a.post("/api/v1/auth/mfa/totp/enroll", headers=host(),
                               json={"mfa_token": challenge["mfa_token"]})).json()["secret"]
        admin = (await a.post("/api/v1/auth/mfa/totp/verify", headers=host(),
                              json={"mfa_token": challenge["mfa_token"], "code": totp_now(secret)})).json()
        # tenant accepts auth's token (JWKS), creates an org and adds a registered user by email
        org = await t.post("/api/v1/orgs", json={"name": "Hanbit High"}, headers=bearer(admin["access_token"]))
        assert org.status_code == 201, org.text
        org_id = org.json()["id"]
        reg = await a.post("/api/v1/auth/register", headers=host(),
                           json={"email": "Jisoo@Example.com", "password": PASSWORD, "display_name": "Jisoo"})
        student_id = reg.json()["id"]
        added = await t.post(f"/api/v1/orgs/{org_id}/members", headers=bearer(admin["access_token"]),
                             json={"email": "JISOO@example.com", "role": "student"})
        assert added.status_code == 201, added.text
        assert added.json()["user_id"] == student_id
        # the student's login carries the membership
        student = (await a.post("/api/v1/auth/login", headers=host(),
                                json={"email": "jisoo@example.com", "password": PASSWORD})).json()
        assert (student["role"], student["org_id"]) == ("student", org_id)
        # the org promotes her: tenant's event ends her sessions in auth, the next login is a teacher
        changed = await t.patch(f"/api/v1/orgs/{org_id}/members/{student_id}", json={"role": "teacher"},
                                headers=bearer(admin["access_token"]))
        assert changed.status_code == 200, changed.text
        for _ in range(100):
            me = await a.get("/api/v1/users/me", headers=bearer(student["access_token"]))
            if me.status_code == 401:
                break
            await asyncio.sleep(0.1)
        assert me.status_code == 401 and me.json()["code"] == "auth.token_revoked"
        again = (await a.post("/api/v1/auth/login", headers=host(),
                              json={"email": "jisoo@example.com", "password": PASSWORD})).json()
        assert (again["role"], again["org_id"]) == ("teacher", org_id)
        # a logout at auth reaches tenant at once: tenant's verdict on the admin's token is held in
        # its tracked cache, and Redis's invalidation (sent as the deny key is written, before auth
        # commits and answers the logout) drops it
        assert await tenant.resources.cache.wait_live(5)
        for _ in range(2):  # the second read is served from tenant's cache
            assert (await t.get(f"/api/v1/orgs/{org_id}", headers=bearer(admin["access_token"]))).status_code == 200
        out = await a.post("/api/v1/auth/logout", headers=bearer(admin["access_token"]))
        assert out.status_code == 204, out.text
        refused = await t.get(f"/api/v1/orgs/{org_id}", headers=bearer(admin["access_token"]))
        assert refused.status_code == 401 and refused.json()["code"] == "auth.token_revoked"
