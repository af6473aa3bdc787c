"""Refresh tokens: opaque, hashed at rest, rotated on every use; a reused one kills the family."""
from __future__ import annotations

import hashlib
from typing import Any

import pytest

from services.auth.tests.conftest import PASSWORD, bearer, host


@pytest.fixture
def auth_overrides() -> dict[str, Any]:
    """The strict rule, grace off (0): any reuse revokes. The window: test_refresh_grace.py."""
    return {"refresh_reuse_grace_seconds": 0}


def _cookie(resp) -> tuple[str, str]:
    raw = resp.headers["set-cookie"]
    value = raw.split(";", 1)[0].split("=", 1)[1]
    return value, raw.lower()


async def test_refresh_rotates_and_reuse_revokes_the_family(env) -> None:
    user_id, _ = await env.user("family@example.com")
    login = await env.login("family@example.com")
    first = login.json()
    cookie, attrs = _cookie(login)
    assert cookie == first["refresh_token"]
    for flag in ("httponly", "secure", "samesite=strict", "path=/api/v1/auth", "max-age=2592000"):
        assert flag in attrs
    # only the hash is stored
    stored = await env.auth_sql("SELECT token_hash FROM auth.refresh_tokens WHERE user_id = :u", u=user_id)
    assert [bytes(r.token_hash) for r in stored][-1] == hashlib.sha256(first["refresh_token"].encode()).digest()

    # browser style: the cookie, honoured only with X-Requested-With (CSRF: another site's form or
    # simple request cannot add it without the edge's CORS preflight)
    forged = await env.client.post("/api/v1/auth/refresh", headers={**host(), "Cookie": f"mc_refresh={cookie}"})
    assert forged.status_code == 403 and forged.json()["code"] == "auth.csrf_header_missing", forged.text
    second = await env.client.post("/api/v1/auth/refresh", headers={
        **host(), "Cookie": f"mc_refresh={cookie}", "X-Requested-With": "mc-web"})
    assert second.status_code == 200, second.text
    second_body, rotated = second.json(), _cookie(second)[0]
    assert second_body["refresh_token"] is None and rotated != first["refresh_token"]  # a page: cookie only
    assert second_body["session_id"] == first["session_id"]
    # API style: the body
    third = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": rotated},
                                  headers=host())
    assert third.status_code == 200, third.text
    live = third.json()
    assert (await env.me(live["access_token"])).status_code == 200

    # The first token again: someone holds a copy. The whole family dies, tokens included.
    reuse = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]},
                                  headers=host())
    assert reuse.status_code == 401 and reuse.json()["code"] == "auth.refresh_reused"
    after = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": live["refresh_token"]},
                                  headers=host())
    assert after.status_code == 401 and after.json()["code"] == "auth.session_revoked"
    for token in (first["access_token"], live["access_token"]):
        resp = await env.me(token)
        assert resp.status_code == 401 and resp.json()["code"] == "auth.token_revoked"
    # a new login is a new family and works
    assert (await env.me((await env.tokens("family@example.com"))["access_token"])).status_code == 200

    sessions = await env.auth_sql("SELECT id, revoked_reason FROM auth.sessions WHERE user_id = :u"
                                  " ORDER BY created_at", u=user_id)
    assert [r.revoked_reason for r in sessions][-2:] == ["refresh_token_reused", None]
    audit = await env.auth_sql("SELECT details FROM auth.audit_logs WHERE action = 'auth.refresh.reused'")
    assert audit and audit[0].details["sid"] == first["session_id"]
    events = await env.auth_sql("SELECT payload FROM auth.outbox WHERE event_type = 'auth.revoked'")
    assert [e.payload["sids"] for e in events] == [[first["session_id"]]]


async def test_logout_variants(env) -> None:
    _, tokens = await env.user("leaver@example.com")
    # nothing to log out with
    resp = await env.client.post("/api/v1/auth/logout", headers=host())
    assert resp.status_code == 401 and resp.json()["code"] == "auth.token_missing"
    # refresh token only (an expired access token must not prevent logging out)
    resp = await env.client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]},
                                 headers={**bearer("expired.or.garbage"), "Host": host()["Host"]})
    assert resp.status_code == 204, resp.text
    assert "mc_refresh=" in resp.headers["set-cookie"] and "max-age=0" in resp.headers["set-cookie"].lower()
    assert (await env.me(tokens["access_token"])).json()["code"] == "auth.token_revoked"
    again = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                                  headers=host())
    assert again.json()["code"] == "auth.session_revoked"
    missing = await env.client.post("/api/v1/auth/refresh", headers=host())
    assert missing.status_code == 401 and missing.json()["code"] == "auth.refresh_missing"
    events = await env.auth_sql("SELECT payload FROM auth.outbox WHERE event_type = 'auth.logout'")
    assert events[0].payload["sids"] == [tokens["session_id"]]


async def test_a_page_gets_the_refresh_token_in_the_cookie_only(env) -> None:
    """Requests from the pages carry X-Requested-With: their token answers hold no refresh token
    (an injected script could read it), only the HttpOnly cookie does; API clients keep both."""
    await env.user("page@example.com")
    page = {**host(), "X-Requested-With": "mc-web"}
    login = await env.client.post("/api/v1/auth/login", json={"email": "page@example.com", "password": PASSWORD},
                                  headers=page)
    assert login.status_code == 200, login.text
    assert login.json()["refresh_token"] is None and login.json()["access_token"]
    cookie = _cookie(login)[0]
    refreshed = await env.client.post("/api/v1/auth/refresh", headers={**page, "Cookie": f"mc_refresh={cookie}"})
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] is None
    assert _cookie(refreshed)[0] not in ("", cookie)
    api = await env.login("page@example.com")
    assert api.json()["refresh_token"] == _cookie(api)[0]
