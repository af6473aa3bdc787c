"""Login roles come from tenant (gRPC ListMemberships); platform roles win; a role change or
removal announced by tenant ends the user's sessions."""
from __future__ import annotations

import asyncio
import uuid

from megacity.db import TenantContext, tenant_transaction
from megacity.events.outbox import add_event
from services.auth.tests.conftest import host

CONSUMER = "auth-member-changes"  # megacity.runtime names it <service>-<ConsumerSpec.durable>


async def consumed(env, event_id: uuid.UUID, deadline_s: float = 30.0) -> None:
    """Wait until auth's member-changes consumer committed this event (its inbox row); the
    deadline only bounds a hang."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while not await env.auth_sql("SELECT 1 FROM auth.inbox WHERE consumer = :c AND msg_id = :m",
                                 c=CONSUMER, m=str(event_id)):
        assert loop.time() < end, f"auth never consumed event {event_id}"
        await asyncio.sleep(0.05)


async def test_role_and_org_come_from_memberships(env) -> None:
    teacher = await env.register("teacher@example.com")
    org_a, org_b, stranger_org = await env.org(name="A"), await env.org(name="B"), await env.org(name="C")
    # one membership: that org and role
    await env.member(1, org_a, teacher, "teacher")
    one = await env.tokens("teacher@example.com")
    assert (one["role"], one["org_id"]) == ("teacher", str(org_a))
    # several: the login must say which
    await env.member(1, org_b, teacher, "parent")
    resp = await env.login("teacher@example.com")
    assert resp.status_code == 409 and resp.json()["code"] == "auth.org_required"
    assert sorted(resp.json()["org_ids"]) == sorted([str(org_a), str(org_b)])
    picked = await env.tokens("teacher@example.com", org_id=org_b)
    assert (picked["role"], picked["org_id"]) == ("parent", str(org_b))
    me = (await env.me(picked["access_token"])).json()
    assert me["permissions"] == ["attempt:read", "kzone:job_read", "report:read", "student:read"]
    resp = await env.login("teacher@example.com", org_id=stranger_org)
    assert resp.status_code == 403 and resp.json()["code"] == "auth.not_a_member"
    # a platform role wins over memberships (and is zone-level)
    admin_id, admin_tokens, _ = await env.admin("boss@example.com", role="zone_admin")
    await env.member(1, org_a, admin_id, "teacher")
    assert admin_tokens["role"] == "zone_admin"
    # a suspended org's membership no longer counts (tenant decides)
    async with tenant_transaction(env.tenant_sessions, TenantContext(1, role="super_admin")) as s:
        from sqlalchemy import text

        await s.execute(text("UPDATE tenant.orgs SET status = 'suspended' WHERE id = :o"), {"o": org_b})
    assert (await env.tokens("teacher@example.com"))["role"] == "teacher"


async def test_role_change_event_from_tenant_revokes_sessions(env) -> None:
    student = await env.register("pupil@example.com")
    org = await env.org()
    await env.member(1, org, student, "student")
    first, second = await env.tokens("pupil@example.com"), await env.tokens("pupil@example.com")
    bystander_id, bystander = await env.user("bystander@example.com")
    # tenant changes the role: its outbox relay publishes member.role_changed on NATS
    async with tenant_transaction(env.tenant_sessions, TenantContext(1, org, role="org_admin")) as s:
        await add_event(s, "tenant", "member.role_changed", {"user_id": str(student), "org_id": str(org),
                                                             "role": "teacher", "previous_role": "student"},
                        zone_id=1, org_id=org)
    for _ in range(100):
        if (await env.me(first["access_token"])).status_code == 401:
            break
        await asyncio.sleep(0.1)
    for tokens in (first, second):
        resp = await env.me(tokens["access_token"])
        assert resp.status_code == 401 and resp.json()["code"] == "auth.token_revoked"
        resp = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                                     headers=host())
        assert resp.json()["code"] == "auth.session_revoked"
    assert (await env.me(bystander["access_token"])).status_code == 200
    revoked = await env.auth_sql("SELECT payload FROM auth.outbox WHERE event_type = 'auth.revoked'")
    assert sorted(revoked[0].payload["sids"]) == sorted([first["session_id"], second["session_id"]])
    assert revoked[0].payload["reason"] == "role_changed"
    # member.added is not a reason to log anyone out: once auth has consumed it (its inbox row is
    # the positive marker), the bystander is still logged in and nothing more was revoked
    async with tenant_transaction(env.tenant_sessions, TenantContext(1, org, role="org_admin")) as s:
        added = await add_event(s, "tenant", "member.added", {"user_id": str(bystander_id), "org_id": str(org),
                                                              "role": "student", "previous_role": None},
                                zone_id=1, org_id=org)
    await consumed(env, added)
    assert (await env.me(bystander["access_token"])).status_code == 200
    assert len(await env.auth_sql("SELECT 1 FROM auth.outbox WHERE event_type = 'auth.revoked'")) == 1
    assert uuid.UUID(revoked[0].payload["user_id"]) == student
