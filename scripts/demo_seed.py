"""Demo accounts for `make run` (development only): who can log in right after start-up.

Per account zone: a zone admin and an org admin of the zone's demo org (`services/tenant/seed.py`).
K-Zone AI (my-ktube.ai) has none of its own: one K-Zone account serves both K-Zone domains
(`megacity.auth.audience`), so kzone's accounts are its accounts. In the univ zone also a super
admin, a teacher, two students and a parent of its demo org. Every account has the development
password below; the admins (who must pass TOTP) have TOTP turned on with the development secret
below, so an authenticator app (or `pyotp`) gives the codes.

Through the services' own code paths, never SQL into another service's tables:
- accounts: `services.auth.admin.ensure_account` (auth's account rows, audit entries) on the
  auth app role;
- org memberships: tenant's gRPC `ListMemberships` to see what is missing, then tenant's
  `POST /api/v1/orgs/{org}/members` as the zone's admin, who logs in over auth's HTTP API with
  password + TOTP. Nothing missing (a second run): no login at all.

Idempotent: a second run creates nothing and prints the same accounts. Refused outside
development/test (`DemoSeedError`).
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pyotp

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
from megacity.auth.audience import account_zone
from megacity.db import make_engine, make_sessionmaker
from megacity.pii import PiiCipher
from megacity.zones import Zone, registry
from services.auth.admin import ensure_account
from services.auth.passwords import Hasher, check_policy
from services.tenant.seed import demo_org_id

DEMO_PASSWORD = "Demo-Megacity-2026!"
DEMO_TOTP_SECRET = "MCDEMOTOTPSECRETMCDEMOTOTPSECRET"  # base32; development only
SEED_ZONE = "univ"  # where the super admin and the classroom accounts live
ENVIRONMENTS = ("development", "test")


class DemoSeedError(RuntimeError):
    """The seed cannot run here (not development) or a service refused a step."""


@dataclass(frozen=True)
class DemoAccount:
    zone_key: str
    email: str
    role: str  # the role a login gets
    display_name: str

    @property
    def platform_role(self) -> str | None:
        return self.role if self.role in ("super_admin", "zone_admin") else None

    @property
    def org_id(self) -> uuid.UUID | None:
        return None if self.platform_role else demo_org_id(self.zone_key)

    @property
    def mfa(self) -> bool:
        return self.role in ("super_admin", "zone_admin", "org_admin")

    @property
    def zone(self) -> Zone:
        return registry().zone(self.zone_key)


def demo_accounts() -> list[DemoAccount]:
    """The fixed list (stable emails: what makes a re-run a no-op), one set per account zone."""
    out: list[DemoAccount] = []
    for zone in registry().zones:
        if account_zone(zone) != zone:
            continue  # signs in with its audience's accounts (K-Zone AI: K-Zone's)
        domain = zone.domains[0]
        if zone.key == SEED_ZONE:
            out.append(DemoAccount(zone.key, f"super-admin@demo.{domain}", "super_admin", "Demo Super Admin"))
        out.append(DemoAccount(zone.key, f"zone-admin@demo.{domain}", "zone_admin", f"{zone.name} Zone Admin"))
        out.append(DemoAccount(zone.key, f"org-admin@demo.{domain}", "org_admin", f"{zone.name} Org Admin"))
        if zone.key == SEED_ZONE:
            for local, role, name in (("teacher", "teacher", "Demo Teacher"), ("student1", "student", "Demo Student 1"),
                                      ("student2", "student", "Demo Student 2"), ("parent", "parent", "Demo Parent")):
                out.append(DemoAccount(zone.key, f"{local}@demo.{domain}", role, name))
    return out


@dataclass(frozen=True)
class SeedResult:
    accounts: list[DemoAccount]
    accounts_created: int
    memberships_created: int


@dataclass(frozen=True)
class Endpoints:
    """Where the running services answer (direct ports; the zone is chosen by the Host header)."""

    auth_http: str
    tenant_http: str
    tenant_grpc: str


def _host(zone: Zone) -> dict[str, str]:
    return {"Host": f"api.{zone.domains[0]}"}


async def seed(auth_database_url: str, endpoints: Endpoints, *, environment: str, pii_keys: Sequence[str],
               argon2: dict[str, int] | None = None) -> SeedResult:
    """Create what is missing of `demo_accounts()` (accounts, then memberships)."""
    if environment not in ENVIRONMENTS:
        raise DemoSeedError(f"demo accounts are for development only (environment is {environment!r})")
    accounts = demo_accounts()
    ids, created = await _ensure_accounts(auth_database_url, accounts, PiiCipher(list(pii_keys)), argon2 or {})
    members = await _ensure_memberships(endpoints, accounts, ids)
    return SeedResult(accounts, created, members)


async def _ensure_accounts(database_url: str, accounts: list[DemoAccount], cipher: PiiCipher,
                           argon2: dict[str, int]) -> tuple[dict[str, uuid.UUID], int]:
    check_policy(DEMO_PASSWORD)
    password_hash = await Hasher(**argon2).hash(DEMO_PASSWORD)  # one hash: every demo account shares the password
    engine = make_engine(database_url, pool_size=1)
    ids: dict[str, uuid.UUID] = {}
    created = 0
    try:
        sessions = make_sessionmaker(engine)
        for a in accounts:
            user_id, new = await ensure_account(
                sessions, zone_key=a.zone_key, email=a.email, password_hash=password_hash, display_name=a.display_name,
                platform_role=a.platform_role, totp_secret_encrypted=cipher.encrypt(DEMO_TOTP_SECRET) if a.mfa else None)
            ids[a.email] = user_id
            created += new
    finally:
        await engine.dispose()
    return ids, created


async def _ensure_memberships(endpoints: Endpoints, accounts: list[DemoAccount], ids: dict[str, uuid.UUID]) -> int:
    missing: dict[str, list[DemoAccount]] = {}
    async with grpc.aio.insecure_channel(endpoints.tenant_grpc) as channel:
        stub = tenant_pb2_grpc.TenantServiceStub(channel)
        for a in accounts:
            if a.org_id is None:
                continue
            reply = await stub.ListMemberships(tenant_pb2.ListMembershipsRequest(
                zone_id=a.zone.id, user_id=str(ids[a.email])), timeout=10)
            if not any(m.org_id == str(a.org_id) and m.role == a.role for m in reply.memberships):
                missing.setdefault(a.zone_key, []).append(a)
    if not missing:
        return 0
    admins = {a.zone_key: a for a in accounts if a.role == "zone_admin"}
    created = 0
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        for zone_key, wanted in missing.items():
            admin = admins[zone_key]
            tokens = await login(client, endpoints.auth_http, admin)
            for a in wanted:
                resp = await _add_member(client, endpoints.tenant_http, a, tokens["access_token"])
                if resp.status_code == 201:
                    created += 1
                elif not (resp.status_code == 409 and resp.json().get("code") == "member.exists"):
                    raise DemoSeedError(f"adding {a.email} as {a.role}: {resp.status_code} {resp.text}")
    return created


async def _add_member(client: httpx.AsyncClient, tenant_http: str, a: DemoAccount, access_token: str,
                      attempts: int = 6) -> httpx.Response:
    """Tenant's members API; a 503 (tenant could not reach auth in time: a busy machine at
    start-up) is retried with a growing pause, as the problem's detail asks."""
    def post() -> Any:
        return client.post(f"{tenant_http}/api/v1/orgs/{a.org_id}/members", json={"email": a.email, "role": a.role},
                           headers={**_host(a.zone), "Authorization": f"Bearer {access_token}"})

    resp: httpx.Response = await post()
    for attempt in range(attempts - 1):
        if resp.status_code != 503:
            break
        await asyncio.sleep(0.5 * 2 ** attempt)
        resp = await post()
    return resp


async def login(client: httpx.AsyncClient, auth_http: str, account: DemoAccount) -> dict[str, Any]:
    """Log a demo account in over auth's HTTP API (password, then TOTP when challenged). A TOTP
    code works once per user: when this step's code was used (an earlier run), the neighbouring
    steps' codes, which auth also accepts, are tried."""
    host = _host(account.zone)
    resp = await client.post(f"{auth_http}/api/v1/auth/login", headers=host,
                             json={"email": account.email, "password": DEMO_PASSWORD})
    body: dict[str, Any] = resp.json()
    if resp.status_code != 200:
        raise DemoSeedError(f"login {account.email}: {resp.status_code} {resp.text}")
    if not body["mfa_required"]:
        return body
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    for step in (0, 1, -1):
        code = totp.at(time.time() + step * 30)
        resp = await client.post(f"{auth_http}/api/v1/auth/mfa/totp/verify", headers=host,
                                 json={"mfa_token": body["mfa_token"], "code": code})
        if resp.status_code == 200:
            tokens: dict[str, Any] = resp.json()
            return tokens
    raise DemoSeedError(f"login {account.email}: TOTP refused: {resp.status_code} {resp.text}")


def print_accounts(result: SeedResult) -> None:
    print(f"  demo accounts created: {result.accounts_created}, memberships created: {result.memberships_created}")
    print(f"  password (all): {DEMO_PASSWORD}    TOTP secret (admins): {DEMO_TOTP_SECRET}"
          f"  (code: python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\")")
    for a in result.accounts:
        where = f"org {a.org_id}" if a.org_id else "zone-level"
        print(f"  {a.zone_key:<10} {a.role:<12} {a.email:<36} {where}{'  +TOTP' if a.mfa else ''}")
