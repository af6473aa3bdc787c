"""The audit log: zone admins search it (time, user, action; cursor pagination); permission
denials are recorded; nobody — not even the service — can rewrite it."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from services.auth.tests.conftest import bearer, host

URL = "/api/v1/admin/audit-logs"


async def _page(env, token: str, zone_id: int = 1, **params) -> dict:
    resp = await env.client.get(URL, params=params, headers=bearer(token, zone_id))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_zone_admins_search_the_audit_log(env) -> None:
    alice, alice_tokens = await env.user("alice@example.com")
    await env.login("alice@example.com", password="Wrong-pass-1", address="203.0.113.9")
    await env.client.post("/api/v1/auth/logout", headers={**bearer(alice_tokens["access_token"]),
                                                          "User-Agent": "pytest-agent/1.0"})
    _, bob_tokens = await env.user("bob@example.com")
    admin_id, admin, _ = await env.admin("auditor@example.com")
    token = admin["access_token"]

    everything = await _page(env, token, limit=200)
    ids = [e["id"] for e in everything["items"]]
    assert ids == sorted(ids, reverse=True) and everything["next_cursor"] is None
    # page through two at a time: same entries, no repeats, then the end
    seen, cursor = [], None
    while True:
        page = await _page(env, token, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    # filters
    failed = await _page(env, token, action="auth.login.failed")
    assert [(e["user_id"], e["address"], e["details"]["reason"]) for e in failed["items"]] == [
        (str(alice), "203.0.113.9", "wrong_password")]
    logins = await _page(env, token, action="auth.login.*")
    assert {e["action"] for e in logins["items"]} == {"auth.login.failed", "auth.login.succeeded",
                                                      "auth.login.mfa_challenged"}
    mine = await _page(env, token, user_id=str(alice))
    assert {e["action"] for e in mine["items"]} == {"auth.register", "auth.login.succeeded", "auth.login.failed",
                                                    "auth.logout"}
    logout = next(e for e in mine["items"] if e["action"] == "auth.logout")
    assert logout["user_agent"] == "pytest-agent/1.0" and logout["details"]["sids"] == [alice_tokens["session_id"]]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    assert (await _page(env, token, **{"from": future}))["items"] == []
    assert len((await _page(env, token, limit=200, **{"from": past, "to": future}))["items"]) == len(ids)
    # bad input: clear 4xx
    bad = await env.client.get(URL, params={"cursor": "bm9wZQ"}, headers=bearer(token))
    assert bad.status_code == 400 and bad.json()["code"] == "request.invalid_cursor"
    bad = await env.client.get(URL, params={"from": future, "to": past}, headers=bearer(token))
    assert bad.status_code == 422
    bad = await env.client.get(URL, params={"limit": 0}, headers=bearer(token))
    assert bad.status_code == 422 and bad.json()["code"] == "request.invalid"

    # a student may not, and the denial itself is audited
    denied = await env.client.get(URL, headers={**bearer(bob_tokens["access_token"]), "X-Forwarded-For": "198.51.100.3"})
    assert denied.status_code == 403 and denied.json()["code"] == "auth.permission_denied"
    entry = (await _page(env, token, action="auth.permission_denied"))["items"][0]
    assert entry["details"]["permission"] == "zone:audit" and entry["details"]["path"] == URL
    assert entry["address"] == "198.51.100.3"
    # so may not an org admin's platform-role grant attempt (admin action, audited when it works)
    grant = await env.client.put(f"/api/v1/users/{alice}/platform-role", json={"role": "zone_admin"},
                                 headers=bearer(bob_tokens["access_token"]))
    assert grant.status_code == 403
    ok = await env.client.put(f"/api/v1/users/{alice}/platform-role", json={"role": "zone_admin"},
                              headers=bearer(token))
    assert ok.status_code == 204
    assert (await _page(env, token, action="admin.platform_role.changed"))["items"][0]["user_id"] == str(admin_id)
    super_grant = await env.client.put(f"/api/v1/users/{alice}/platform-role", json={"role": "super_admin"},
                                       headers=bearer(token))
    assert super_grant.status_code == 403  # only a super_admin makes super_admins

    # another zone's admin sees none of it
    _, other, _ = await env.admin("other-auditor@example.com", zone_id=2)
    others = await _page(env, other["access_token"], zone_id=2, limit=200)
    assert {e["zone_id"] for e in others["items"]} == {2}
    assert (await env.client.get(URL, headers=bearer(token, 2))).status_code == 403  # zone mismatch


async def test_audit_log_is_append_only(env) -> None:
    await env.user("someone@example.com")
    as_super_admin = "SELECT set_config('app.zone_id', '1', false), set_config('app.role', 'super_admin', false)"
    for sql in ("UPDATE auth.audit_logs SET action = 'x'", "DELETE FROM auth.audit_logs",
                "TRUNCATE auth.audit_logs"):
        with psycopg.connect(env.db.app_url("auth")) as conn:  # the service's own role: no privilege
            conn.execute(as_super_admin)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(sql)
        with psycopg.connect(env.db.owner_url("auth")) as conn:  # even the owner trips the trigger
            conn.execute(as_super_admin)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)
    assert (await env.auth_sql("SELECT count(*) AS n FROM auth.audit_logs"))[0].n >= 2
    assert host()


async def test_key_rotations_are_audited_in_every_zone(env) -> None:
    """Signing keys serve every zone: publishing, promoting and an urgent rotation each leave one
    auth audit entry per zone (system actor), and so does re-encrypting PII (`rotate-pii`)."""
    from megacity.pii import PiiCipher
    from megacity.zones import registry
    from services.auth.admin import rotate_pii
    from services.auth.settings import DEV_PII_KEY

    zones = sorted(z.id for z in registry().zones)
    ring = env.auth.app.state.auth.keyring
    old = (await ring.active()).kid
    published = await ring.rotate()
    assert await ring.rotate() == published  # already published: no second entry
    ring.publish_lead_seconds = ring.min_forced_reload_seconds = 0
    await ring.reload(force=True)  # promotes it
    urgent = await ring.rotate(now=True)

    async def entries(action: str) -> list:
        return await env.auth_sql("SELECT zone_id, user_id, details FROM auth.audit_logs WHERE action = :a"
                                  " ORDER BY zone_id", a=action)

    rows = await entries("auth.signing_key.published")
    assert [r.zone_id for r in rows] == zones and {r.details["kid"] for r in rows} == {published}
    assert all(r.user_id is None and r.details["by"] == "key-rotate" for r in rows)
    rows = await entries("auth.signing_key.activated")
    assert [r.zone_id for r in rows] == zones
    assert {(r.details["kid"], r.details["previous_kid"]) for r in rows} == {(published, old)}
    rows = await entries("auth.signing_key.rotated")
    assert [r.zone_id for r in rows] == zones
    assert {(r.details["kid"], r.details["previous_kid"]) for r in rows} == {(urgent, published)}

    # In the platform listing: a system actor, no user.
    _, admin, _ = await env.admin("keys-auditor@example.com")
    resp = await env.client.get("/api/v1/audit", params={"service": "auth", "action": "auth.signing_key."},
                                headers=bearer(admin["access_token"]))
    assert resp.status_code == 200, resp.text
    assert {(e["actor"]["kind"], e["actor"]["role"]) for e in resp.json()["items"]} == {
        ("system", "key-rotate"), ("system", "key-promote")}

    await env.register("rotate-pii@example.com", phone="+82 10-1111-2222")
    # (last: the running service does not have the new key)
    await rotate_pii(env.auth_sessions, PiiCipher([PiiCipher.generate_key(), DEV_PII_KEY]))
    rows = await entries("auth.pii.key_rotated")
    assert [r.zone_id for r in rows] == zones and all(r.details["by"] == "pii-rotate" for r in rows)
    assert {r.zone_id: r.details["rows"] for r in rows}[1] >= 1
