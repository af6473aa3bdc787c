"""The auth rules called directly (no HTTP): `credentials/service.py`, `users/service.py`,
`audit/service.py` against the running service's real Resources (PostgreSQL, Redis, NATS)."""
from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from megacity.auth.permissions import permissions_for
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.zones import registry
from services.auth.audit import service as audit_service
from services.auth.client_info import ClientInfo
from services.auth.credentials import service as credentials
from services.auth.issuance import IssuedTokens
from services.auth.tests.conftest import PASSWORD
from services.auth.users import service as users_service

CLIENT = ClientInfo("192.0.2.50", "pytest")


def principal(user_id: uuid.UUID, role: str, sid: str | None = None) -> Principal:
    now = int(time.time())
    return Principal(user_id=user_id, zone_id=1, org_id=None, role=role, permissions=frozenset(permissions_for(role)),
                     jti=uuid.uuid4().hex, iat=now, exp=now + 900, sid=sid)


@pytest.mark.parametrize("auth_overrides", [{"refresh_reuse_grace_seconds": 0}])  # the strict rule, no grace
async def test_register_login_and_refresh_reuse_without_http(env) -> None:
    res, st, zone = env.auth.resources, env.auth.app.state.auth, registry().zone("univ")
    user = await credentials.register(res, st, zone, CLIENT, credentials.Registration(
        email=" Direct@Example.com ", password=PASSWORD, display_name=" Direct "))
    assert (user.email, user.display_name, user.platform_role) == ("direct@example.com", "Direct", None)
    with pytest.raises(AppError) as taken:
        await credentials.register(res, st, zone, CLIENT, credentials.Registration(
            email="direct@example.com", password=PASSWORD, display_name="Again"))
    assert taken.value.code == "auth.email_taken"
    with pytest.raises(AppError) as wrong:
        await credentials.login(res, st, zone, CLIENT, email="direct@example.com", password="Wrong-pass-1", org_id=None)
    assert (wrong.value.status, wrong.value.code) == (401, "auth.invalid_credentials")

    issued = await credentials.login(res, st, zone, CLIENT, email="DIRECT@example.com", password=PASSWORD, org_id=None)
    assert isinstance(issued, IssuedTokens) and issued.session.role == "guest"
    rotated = await credentials.refresh(res, st, zone, CLIENT, issued.refresh_token)
    assert rotated.session.id == issued.session.id and rotated.refresh_token != issued.refresh_token
    with pytest.raises(AppError) as reused:  # the first token again: stolen copy, the session dies
        await credentials.refresh(res, st, zone, CLIENT, issued.refresh_token)
    assert reused.value.code == "auth.refresh_reused"
    with pytest.raises(AppError) as revoked:
        await credentials.refresh(res, st, zone, CLIENT, rotated.refresh_token)
    assert revoked.value.code == "auth.session_revoked"
    with pytest.raises(AppError) as missing:
        await credentials.refresh(res, st, zone, CLIENT, None)
    assert missing.value.code == "auth.refresh_missing"
    events = await env.auth_sql("SELECT payload FROM auth.outbox WHERE event_type = 'auth.revoked'")
    assert [e.payload["reason"] for e in events] == ["refresh_token_reused"]


async def test_platform_role_rules_without_http(env) -> None:
    res = env.auth.resources
    admin_id, _, _ = await env.admin("za@example.com", role="zone_admin")
    target = await env.register("target@example.com")
    zone_admin = principal(admin_id, "zone_admin")
    with pytest.raises(AppError) as denied:
        await users_service.set_platform_role(res, zone_admin, CLIENT, target, "super_admin")
    assert denied.value.code == "auth.permission_denied"
    with pytest.raises(AppError) as unknown:
        await users_service.set_platform_role(res, zone_admin, CLIENT, uuid.uuid4(), "zone_admin")
    assert unknown.value.code == "user.not_found"
    await users_service.set_platform_role(res, zone_admin, CLIENT, target, "zone_admin")
    [row] = await env.auth_sql("SELECT platform_role FROM auth.users WHERE id = :u", u=target)
    assert row.platform_role == "zone_admin"


async def test_audit_filters_are_checked_before_any_read(env) -> None:
    res, nobody = env.auth.resources, principal(uuid.uuid4(), "zone_admin")
    naive = dt.datetime(2026, 3, 1)
    aware = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for f in (audit_service.AuditFilter(since=naive), audit_service.AuditFilter(since=aware, until=aware)):
        with pytest.raises(AppError) as bad:
            await audit_service.search(res, nobody, f)
        assert (bad.value.status, bad.value.code) == (422, "request.invalid")
    with pytest.raises(AppError) as cursor:
        await audit_service.search(res, nobody, audit_service.AuditFilter(cursor="not-ours"))
    assert cursor.value.code == "request.invalid_cursor"
