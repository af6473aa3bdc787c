"""The platform audit store (issue #17 §4), end to end: actions in the real tenant service →
tenant's outbox → relay → real NATS JetStream → auth's `auth-audit` consumer →
`auth.platform_audit` → `GET /api/v1/audit`. Zone admins see the zone, an org admin only their
org (RLS), another org's admin none of it; cursor paging, filters, bad input; the store is
append-only and a redelivered record is stored once."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
import uuid

import httpx
import psycopg
import pytest
from sqlalchemy import text

from megacity.db import TenantContext, set_tenant
from megacity.events.envelope import Event
from services.auth.audit.consumer import on_audit_event
from services.auth.db_scope import scoped_transaction
from services.auth.tests.conftest import HOSTS

URL = "/api/v1/audit"


def _headers(token: str, zone_id: int = 1) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Host": HOSTS[zone_id]}


async def _wait_for_rows(env, n: int) -> None:
    deadline = time.monotonic() + 60
    while (await env.auth_sql("SELECT count(*) AS n FROM auth.platform_audit"))[0].n < n:
        assert time.monotonic() < deadline, "audit records did not reach auth"
        await asyncio.sleep(0.1)


async def _get(env, token: str, zone_id: int = 1, **params) -> dict:
    resp = await env.client.get(URL, params=params, headers=_headers(token, zone_id))
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture
async def mesh(span_exporter, env, token_mint):
    """The env's tenant and auth accept the test mint's tokens (any role, any org)."""
    token_mint.install(env.tenant.app)
    token_mint.install(env.auth.app)
    return env, token_mint


async def test_tenant_actions_reach_the_audit_query_with_org_isolation(mesh) -> None:
    env, mint = mesh
    org_a, org_b = await env.org(1, "Org A"), await env.org(1, "Org B")
    admin_a, admin_b, zone_admin = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    tok_a = mint.token(zone_id=1, role="org_admin", org_id=org_a, user_id=admin_a)
    tok_b = mint.token(zone_id=1, role="org_admin", org_id=org_b, user_id=admin_b)
    tok_zone = mint.token(zone_id=1, role="zone_admin", user_id=zone_admin)
    tenant_url = f"http://127.0.0.1:{env.tenant.http_port}"
    members_a = [uuid.uuid4() for _ in range(3)]
    for user in members_a:
        await env.member(1, org_a, user, "student")
    member_b = uuid.uuid4()
    await env.member(1, org_b, member_b, "student")
    await env.member(1, org_a, admin_a, "org_admin")
    await env.member(1, org_b, admin_b, "org_admin")

    async with httpx.AsyncClient(base_url=tenant_url, timeout=30) as tenant:
        for user in members_a:
            resp = await tenant.patch(f"/api/v1/orgs/{org_a}/members/{user}", json={"role": "teacher"},
                                      headers=_headers(tok_a))
            assert resp.status_code == 200, resp.text
        resp = await tenant.patch(f"/api/v1/orgs/{org_b}/members/{member_b}", json={"role": "teacher"},
                                  headers=_headers(tok_b))
        assert resp.status_code == 200, resp.text
        resp = await tenant.post("/api/v1/orgs", json={"name": "Org C", "plan": "standard"},
                                 headers=_headers(tok_zone))
        assert resp.status_code == 201, resp.text
        org_c = resp.json()["id"]
    await _wait_for_rows(env, 5)

    # Zone admin: the whole zone, newest first, with every field.
    everything = await _get(env, tok_zone, service="tenant", limit=200)
    assert [e["action"] for e in everything["items"]] == ["tenant.org.created"] + ["tenant.member.role_changed"] * 4
    created = everything["items"][0]
    assert created["actor"] == {"user_id": str(zone_admin), "role": "zone_admin", "kind": "user"}
    assert created["target"] == {"type": "org", "id": org_c} and created["org_id"] == org_c
    assert created["after"] == {"name": "Org C", "plan": "standard", "status": "active"}
    assert created["trace_id"] and len(created["trace_id"]) == 32 and created["event_id"]
    changed = everything["items"][-1]
    assert changed["before"] == {"role": "student"} and changed["after"] == {"role": "teacher"}
    assert changed["service"] == "tenant" and changed["zone_id"] == 1

    # Cursor paging: one at a time gives the same entries, no repeats, then the end.
    seen, cursor = [], None
    while True:
        page = await _get(env, tok_zone, service="tenant", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in everything["items"]]

    # Filters.
    assert len((await _get(env, tok_zone, action="tenant.member."))["items"]) == 4
    assert len((await _get(env, tok_zone, service="tenant", org_id=str(org_a)))["items"]) == 3
    # auth's own log is in the same query: the role changes ended the members' sessions there.
    assert {e["action"] for e in (await _get(env, tok_zone, service="auth", org_id=str(org_a)))["items"]} <= {
        "auth.sessions.revoked"}
    assert [e["target"]["id"] for e in (await _get(env, tok_zone, target_type="membership",
                                                   target_id=str(member_b)))["items"]] == [str(member_b)]
    assert {e["org_id"] for e in (await _get(env, tok_zone, actor_id=str(admin_b)))["items"]} == {str(org_b)}
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert (await _get(env, tok_zone, **{"from": future}))["items"] == []

    # Org admin A: only org A's records (RLS), paging too; org B's admin: only B's.
    mine = await _get(env, tok_a, limit=200)
    assert len(mine["items"]) == 3 and {e["org_id"] for e in mine["items"]} == {str(org_a)}
    first = await _get(env, tok_a, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = await _get(env, tok_a, limit=2, cursor=first["next_cursor"])
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in mine["items"]]
    assert rest["next_cursor"] is None
    theirs = await _get(env, tok_b, limit=200)
    assert [e["org_id"] for e in theirs["items"]] == [str(org_b)]
    # Asking for another org is refused, not silently empty.
    resp = await env.client.get(URL, params={"org_id": str(org_b)}, headers=_headers(tok_a))
    assert resp.status_code == 403 and resp.json()["code"] == "audit.org_forbidden"

    # Another zone's admin sees nothing of zone 1; a token of zone 1 on zone 2's host is refused.
    other = mint.token(zone_id=2, role="zone_admin")
    assert (await _get(env, other, zone_id=2, service="tenant"))["items"] == []
    assert (await env.client.get(URL, headers=_headers(tok_zone, 2))).status_code == 403

    # Teachers and students may not read it.
    for role in ("teacher", "student"):
        token = mint.token(zone_id=1, role=role, org_id=org_a)
        resp = await env.client.get(URL, headers=_headers(token))
        assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"

    # Bad input: clear 4xx.
    for params, status, code in (({"cursor": "bm9wZQ"}, 400, "request.invalid_cursor"),
                                 ({"from": future, "to": dt.datetime.now(dt.UTC).isoformat()}, 422, "request.invalid"),
                                 ({"target_id": "x"}, 422, "request.invalid"),
                                 ({"limit": 0}, 422, "request.invalid"),
                                 ({"action": "Not An Action!"}, 422, "request.invalid")):
        resp = await env.client.get(URL, params=params, headers=_headers(tok_zone))
        assert (resp.status_code, resp.json()["code"]) == (status, code), (params, resp.text)
    # A cursor of the older auth log listing is not one of this listing (two entries: a second page).
    for reason in ("one", "two"):
        await _insert_auth(env, dt.datetime.now(dt.UTC), {"reason": reason})
    old = (await env.client.get("/api/v1/admin/audit-logs", params={"limit": 1},
                                headers=_headers(tok_zone))).json()
    assert old["next_cursor"]
    resp = await env.client.get(URL, params={"cursor": old["next_cursor"]}, headers=_headers(tok_zone))
    assert resp.status_code == 400 and resp.json()["code"] == "request.invalid_cursor"


async def test_auth_own_log_appears_in_the_same_query(mesh) -> None:
    env, mint = mesh
    user = await env.register("someone@example.com")
    zone_token = mint.token(zone_id=1, role="zone_admin")
    page = await _get(env, zone_token, service="auth", action="auth.register")
    [entry] = page["items"]
    assert entry["service"] == "auth" and entry["actor"]["user_id"] == str(user)
    assert entry["target"] == {"type": "user", "id": str(user)} and entry["id"].startswith("a")
    # Org admins never see auth's zone-level log.
    org = await env.org(1)
    assert (await _get(env, mint.token(zone_id=1, role="org_admin", org_id=org), service="auth"))["items"] == []


async def _insert_platform(env, at: dt.datetime, org: uuid.UUID, target: str) -> None:
    await env.auth_sql(
        "INSERT INTO auth.platform_audit (id, zone_id, org_id, service, action, actor_role, target_type, target_id,"
        " occurred_at) VALUES (gen_random_uuid(), 1, :org, 'exam', 'exam.exam.published', 'teacher', 'exam', :t, :at)",
        org=org, t=target, at=at)


async def _insert_auth(env, at: dt.datetime, details: dict, user_id: uuid.UUID | None = None,
                       action: str = "auth.login.failed") -> None:
    await env.auth_sql("INSERT INTO auth.audit_logs (zone_id, user_id, action, details, created_at)"
                       " VALUES (1, :u, :a, CAST(:d AS jsonb), :at)", u=user_id, a=action, d=json.dumps(details), at=at)


async def _all_pages(env, token: str, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = await _get(env, token, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_rows_at_the_same_instant_page_exactly_once(mesh) -> None:
    """Platform records and auth entries with one and the same timestamp (and some around it),
    paged one at a time: every row exactly once, in the order of the one-page listing — the
    per-source cursor conditions keep a total order across the two tables."""
    env, mint = mesh
    at = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    org = uuid.uuid4()
    for i in range(3):
        await _insert_platform(env, at, org, f"tie-{i}")
        await _insert_auth(env, at, {"reason": f"tie-{i}"})
    second = dt.timedelta(seconds=1)
    await _insert_platform(env, at + second, org, "later")
    await _insert_auth(env, at - second, {"reason": "earlier"})
    await _insert_platform(env, at - second, org, "earlier")
    token = mint.token(zone_id=1, role="zone_admin")
    window = {"from": (at - 2 * second).isoformat(), "to": (at + 2 * second).isoformat()}

    one_page = (await _get(env, token, limit=200, **window))["items"]
    assert len(one_page) == 9
    keys = [(e["occurred_at"], e["id"]) for e in one_page]
    assert keys == sorted(keys, reverse=True)  # newest first; at one instant platform ('p') before auth ('a')
    assert [e["id"][0] for e in one_page] == ["p", "p", "p", "p", "a", "a", "a", "p", "a"]
    for limit in (1, 2, 4):
        paged = await _all_pages(env, token, limit=limit, **window)
        assert [e["id"] for e in paged] == [e["id"] for e in one_page], limit
    # Per source, and for an org admin (platform rows of their org only), the same holds.
    assert [e["id"] for e in await _all_pages(env, token, limit=1, service="auth", **window)] == [
        e["id"] for e in one_page if e["service"] == "auth"]
    org_token = mint.token(zone_id=1, role="org_admin", org_id=org)
    assert [e["id"] for e in await _all_pages(env, org_token, limit=1, **window)] == [
        e["id"] for e in one_page if e["service"] == "exam"]


async def test_auth_entries_show_no_email_or_phone(mesh) -> None:
    """auth.audit_logs keeps emails in `details` (failed logins, resets, admin accounts); the
    platform listing shows only allow-listed keys, and a command's entry (`details.by`) has a
    system actor with the account as its target."""
    env, mint = mesh
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    user = uuid.uuid4()
    await _insert_auth(env, at, {"email": "minji@example.com", "reason": "wrong_password", "phone": "010-1234-5678",
                                 "login_id": "minji@example.com", "display_name": "김민지"})
    await _insert_auth(env, at, {"by": "cli", "email": "admin@example.com"}, user_id=user, action="admin.zone_admin.created")
    token = mint.token(zone_id=1, role="zone_admin")
    items = (await _get(env, token, service="auth", limit=200))["items"]
    by_action = {e["action"]: e for e in items}
    assert by_action["auth.login.failed"]["after"] == {"reason": "wrong_password"}
    created = by_action["admin.zone_admin.created"]
    assert created["after"] == {"by": "cli"}
    assert created["actor"] == {"user_id": None, "role": "cli", "kind": "system"}
    assert created["target"] == {"type": "user", "id": str(user)}
    # The actor filter does not take the account acted on for the actor.
    assert (await _get(env, token, service="auth", actor_id=str(user)))["items"] == []
    body = json.dumps(items)
    assert "example.com" not in body and "010-" not in body and "김민지" not in body


def _event(zone_id: int, org: uuid.UUID) -> Event:
    now = dt.datetime.now(dt.UTC)
    return Event(id=str(uuid.uuid4()), type="audit.exam.exam.published", subject="t", zone_id=zone_id, org_id=org,
                 occurred_at=now, payload={
                     "service": "exam", "action": "exam.exam.published",
                     "actor": {"user_id": str(uuid.uuid4()), "role": "teacher", "kind": "user"},
                     "target": {"type": "exam", "id": str(uuid.uuid4())}, "before": {"status": "draft"},
                     "after": {"status": "published"}, "trace_id": None, "occurred_at": now.isoformat()})


async def test_a_replayed_record_is_stored_once_and_the_store_is_append_only(env) -> None:
    org = uuid.uuid4()
    event = _event(1, org)
    for _ in range(2):  # e.g. replayed after the inbox was pruned
        async with env.auth_sessions() as session, session.begin():
            await on_audit_event(session, event, env.auth.app.state.resources)
    rows = await env.auth_sql("SELECT id, action, org_id, actor_role FROM auth.platform_audit")
    assert [(str(r.id), r.action, r.org_id, r.actor_role) for r in rows] == [
        (event.id, "exam.exam.published", org, "teacher")]

    # A malformed record raises (so it is retried, then dead-lettered), nothing stored.
    bad = Event(id=str(uuid.uuid4()), type="audit.x.y", subject="t", zone_id=1, payload={"service": "x"})
    with pytest.raises(KeyError):
        async with env.auth_sessions() as session, session.begin():
            await on_audit_event(session, bad, env.auth.app.state.resources)
    # ... and so does one whose action is not its event type's or its service's, or from the future.
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)).isoformat()
    for change in ({"type": "audit.exam.exam.archived"}, {"payload": {**event.payload, "service": "tenant"}},
                   {"payload": {**event.payload, "occurred_at": future}}):
        wrong = dataclasses.replace(event, id=str(uuid.uuid4()), **change)
        with pytest.raises(ValueError):
            async with env.auth_sessions() as session, session.begin():
                await on_audit_event(session, wrong, env.auth.app.state.resources)
    assert len(await env.auth_sql("SELECT 1 FROM auth.platform_audit")) == 1

    # Only auth's service scope writes, and only in its zone.
    with pytest.raises(Exception, match="row-level security"):
        async with env.auth_sessions() as session, session.begin():
            await set_tenant(session, TenantContext(zone_id=1, org_id=org, role="org_admin"))
            await session.execute(text(
                "INSERT INTO auth.platform_audit (id, zone_id, service, action, actor_role, target_type, target_id,"
                " occurred_at) VALUES (gen_random_uuid(), 1, 'x', 'x.y.z', 'r', 't', 'i', now())"))
    # RLS at the database: an org admin of another org sees nothing; a student sees nothing.
    for role, org_id, n in (("org_admin", org, 1), ("org_admin", uuid.uuid4(), 0), ("student", org, 0),
                            ("zone_admin", None, 1)):
        async with env.auth_sessions() as session, session.begin():
            await set_tenant(session, TenantContext(zone_id=1, org_id=org_id, role=role))
            count = (await session.execute(text("SELECT count(*) FROM auth.platform_audit"))).scalar_one()
        assert count == n, (role, org_id)
    async with scoped_transaction(env.auth_sessions, 2, "service") as session:  # another zone
        assert (await session.execute(text("SELECT count(*) FROM auth.platform_audit"))).scalar_one() == 0

    as_super_admin = "SELECT set_config('app.zone_id', '1', false), set_config('app.role', 'super_admin', false)"
    for sql in ("UPDATE auth.platform_audit SET action = 'x.y.z'", "DELETE FROM auth.platform_audit",
                "TRUNCATE auth.platform_audit"):
        with psycopg.connect(env.db.app_url("auth")) as conn:  # the service's own role: no privilege
            conn.execute(as_super_admin)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(sql)
        with psycopg.connect(env.db.owner_url("auth")) as conn:  # the owner trips the trigger
            conn.execute(as_super_admin)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)
