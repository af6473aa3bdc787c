"""Refresh reuse grace: a rotated token presented again inside AUTH_REFRESH_REUSE_GRACE_SECONDS
(a retry whose answer was lost, a second tab) gets the identical pair and the family lives; after
the window the same reuse revokes the family as before."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.auth.sessions import ReuseGrace
from services.auth.tests.conftest import host

WIDE = {"refresh_reuse_grace_seconds": 60}
TINY = {"refresh_reuse_grace_seconds": 1}


@pytest.fixture
def auth_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return getattr(request, "param", WIDE)


async def _refresh(env, token: str):
    return await env.client.post("/api/v1/auth/refresh", json={"refresh_token": token}, headers=host())


def _pair(body: dict[str, Any]) -> tuple[str, str, str]:
    return body["access_token"], body["refresh_token"], body["session_id"]


async def test_retry_inside_the_window_gets_the_same_pair_and_the_family_lives(env) -> None:
    user_id, first = await env.user("retry@example.com")
    rotated = await _refresh(env, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    retried = await _refresh(env, first["refresh_token"])  # the answer to the first call was lost
    assert retried.status_code == 200, retried.text
    assert _pair(retried.json()) == _pair(rotated.json())
    assert retried.headers["set-cookie"].split(";", 1)[0] == f"mc_refresh={rotated.json()['refresh_token']}"

    # the family is alive: the pair works and rotates on
    assert (await env.me(retried.json()["access_token"])).status_code == 200
    onward = await _refresh(env, retried.json()["refresh_token"])
    assert onward.status_code == 200, onward.text
    assert (await env.me(onward.json()["access_token"])).status_code == 200
    sessions = await env.auth_sql("SELECT revoked_at FROM auth.sessions WHERE user_id = :u", u=user_id)
    assert [r.revoked_at for r in sessions] == [None]
    # one rotation made one token: the replay issued nothing new
    tokens = await env.auth_sql("SELECT count(*) AS n FROM auth.refresh_tokens WHERE user_id = :u", u=user_id)
    assert tokens[0].n == 3
    audit = await env.auth_sql("SELECT details FROM auth.audit_logs WHERE action = 'auth.refresh.replayed'")
    assert [a.details["sid"] for a in audit] == [first["session_id"]]
    assert await env.auth_sql("SELECT 1 FROM auth.outbox WHERE event_type = 'auth.revoked'") == []


async def test_two_tabs_at_once_both_get_the_same_pair(env) -> None:
    user_id, first = await env.user("tabs@example.com")
    a, b = await asyncio.gather(_refresh(env, first["refresh_token"]), _refresh(env, first["refresh_token"]))
    assert (a.status_code, b.status_code) == (200, 200), (a.text, b.text)
    assert _pair(a.json()) == _pair(b.json())
    assert a.json()["refresh_token"] != first["refresh_token"]
    tokens = await env.auth_sql("SELECT count(*) AS n FROM auth.refresh_tokens WHERE user_id = :u", u=user_id)
    assert tokens[0].n == 2
    assert (await env.me(a.json()["access_token"])).status_code == 200


async def test_the_kept_pair_is_encrypted_in_redis(env) -> None:
    _, first = await env.user("sealed@example.com")
    rotated = (await _refresh(env, first["refresh_token"])).json()
    res, st = env.auth.resources, env.auth.app.state.auth
    grace = ReuseGrace(res.redis, res.keys, st.cipher, st.settings.refresh_reuse_grace_seconds)
    raw = await env.redis.get(grace.key(1, first["refresh_token"]))
    assert raw is not None
    text = raw.decode() if isinstance(raw, bytes) else raw
    for secret in (rotated["refresh_token"], rotated["access_token"], first["refresh_token"]):
        assert secret not in text
    assert 0 < await env.redis.ttl(grace.key(1, first["refresh_token"])) <= 60


async def test_a_logout_ends_the_grace(env) -> None:
    _, first = await env.user("gone@example.com")
    rotated = (await _refresh(env, first["refresh_token"])).json()
    out = await env.client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]},
                                headers=host())
    assert out.status_code == 204, out.text
    again = await _refresh(env, first["refresh_token"])
    assert again.status_code == 401 and again.json()["code"] == "auth.session_revoked"


@pytest.mark.parametrize("auth_overrides", [TINY], indirect=True)
async def test_reuse_after_the_window_revokes_the_family(env) -> None:
    user_id, first = await env.user("late@example.com")
    rotated = (await _refresh(env, first["refresh_token"])).json()
    res, st = env.auth.resources, env.auth.app.state.auth
    grace = ReuseGrace(res.redis, res.keys, st.cipher, st.settings.refresh_reuse_grace_seconds)
    key = grace.key(1, first["refresh_token"])
    for _ in range(200):  # wait the window out (Redis expires the kept pair)
        if not await env.redis.exists(key):
            break
        await asyncio.sleep(0.05)
    assert not await env.redis.exists(key)

    reuse = await _refresh(env, first["refresh_token"])
    assert reuse.status_code == 401 and reuse.json()["code"] == "auth.refresh_reused"
    after = await _refresh(env, rotated["refresh_token"])
    assert after.status_code == 401 and after.json()["code"] == "auth.session_revoked"
    resp = await env.me(rotated["access_token"])
    assert resp.status_code == 401 and resp.json()["code"] == "auth.token_revoked"
    sessions = await env.auth_sql("SELECT revoked_reason FROM auth.sessions WHERE user_id = :u", u=user_id)
    assert [r.revoked_reason for r in sessions] == ["refresh_token_reused"]
