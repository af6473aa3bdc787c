"""The account's language (issue #16): `PATCH /users/me {"locale"}` by the user, shown by
/users/me at once (the cached profile is dropped, on every replica) and handed back with the
tokens of login, refresh and the TOTP step, so pages switch to it after sign-in."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pyotp
import pytest

from megacity.testing import run_service
from services.auth import profile_cache
from services.auth.tests.conftest import FAST_HASH, bearer, host


async def _patch(client: httpx.AsyncClient, token: str, body: Any) -> httpx.Response:
    return await client.patch("/api/v1/users/me", json=body, headers=bearer(token))


async def test_the_user_sets_and_clears_their_language_and_me_shows_it_at_once(env) -> None:
    user_id, tokens = await env.user("lang@example.com")
    other_id, other = await env.user("other@example.com")
    token = tokens["access_token"]
    assert tokens["locale"] is None  # never chosen
    assert (await env.me(token)).json()["locale"] is None  # the profile is cached now

    resp = await _patch(env.client, token, {"locale": "en"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["locale"] == "en" and resp.json()["id"] == str(user_id)
    assert resp.json()["permissions"] == (await env.me(token)).json()["permissions"]  # MeOut's shape
    assert (await env.me(token)).json()["locale"] == "en"  # not the cached profile of before
    assert (await env.auth_sql("SELECT locale FROM auth.users WHERE id = :u", u=user_id))[0].locale == "en"

    # another user's language is not touched, and neither is their cached profile
    assert (await env.me(other["access_token"])).json()["locale"] is None
    assert (await env.auth_sql("SELECT locale FROM auth.users WHERE id = :u", u=other_id))[0].locale is None

    assert (await _patch(env.client, token, {"locale": "en"})).json()["locale"] == "en"  # the same again: fine
    assert (await _patch(env.client, token, {"locale": "ko"})).json()["locale"] == "ko"
    cleared = await _patch(env.client, token, {"locale": None})  # back to the browser's language
    assert cleared.status_code == 200 and cleared.json()["locale"] is None
    assert (await env.me(token)).json()["locale"] is None


async def test_only_known_languages_and_only_a_signed_in_user(env) -> None:
    user_id, tokens = await env.user("picky@example.com")
    token = tokens["access_token"]
    for body in ({"locale": "fr"}, {"locale": "EN"}, {"locale": ""}, {"locale": 1}, {}, {"locale": "en", "x": 1},
                 ["en"]):
        resp = await _patch(env.client, token, body)
        assert resp.status_code == 422 and resp.json()["code"] == "request.invalid", (body, resp.text)
    assert (await env.auth_sql("SELECT locale FROM auth.users WHERE id = :u", u=user_id))[0].locale is None
    anonymous = await env.client.patch("/api/v1/users/me", json={"locale": "en"}, headers=host())
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "auth.token_missing"
    # the column refuses other values whoever writes them
    rows = await env.auth_sql("SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint"
                              " WHERE conname = 'users_locale_known'")
    assert "'ko'" in rows[0].d and "'en'" in rows[0].d


async def test_every_replica_shows_the_change_at_once(env) -> None:
    """Replica B has the profile in its process cache; a change made through replica A reaches it
    through Redis' invalidation (TrackedCache), not after the cache's TTL."""
    user_id, tokens = await env.user("replicas@example.com")
    token = tokens["access_token"]
    peers = {"tenant": f"127.0.0.1:{env.tenant.grpc_port}"}
    async with run_service("auth", env.db, env.namespace, grpc_peers=peers, **FAST_HASH) as other:
        cache = other.resources.cache
        assert cache is not None and await cache.wait_live(10)  # else every read goes to Redis: no invalidation to hear
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{other.http_port}", timeout=30) as b:
            me = (await b.get("/api/v1/users/me", headers=bearer(token))).json()
            assert me["locale"] is None
            cached = profile_cache.key(other.resources.keys, me["zone_id"], user_id)
            deadline = time.monotonic() + 10
            # B's first read stored the profile in Redis (which drops B's copy); read until B keeps it in memory
            # (private `_entries`: TrackedCache has no public peek)
            while cache._entries.get(cached, (0, None))[1] is None and time.monotonic() < deadline:
                assert (await b.get("/api/v1/users/me", headers=bearer(token))).json()["locale"] is None
                await asyncio.sleep(0.02)
            assert cache._entries.get(cached, (0, None))[1] is not None
            assert (await _patch(env.client, token, {"locale": "en"})).status_code == 200
            shown, deadline = None, time.monotonic() + 10  # the invalidation's trip; ends as soon as it is seen
            while time.monotonic() < deadline:
                shown = (await b.get("/api/v1/users/me", headers=bearer(token))).json()["locale"]
                if shown == "en":
                    break
                await asyncio.sleep(0.02)
            assert shown == "en"


async def test_login_refresh_and_totp_answers_carry_the_language(env) -> None:
    _, tokens = await env.user("tokens@example.com")
    await _patch(env.client, tokens["access_token"], {"locale": "en"})
    login = await env.tokens("tokens@example.com")
    assert login["locale"] == "en"
    refreshed = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]},
                                      headers=host())
    assert refreshed.status_code == 200 and refreshed.json()["locale"] == "en", refreshed.text
    await _patch(env.client, refreshed.json()["access_token"], {"locale": "ko"})
    again = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]},
                                  headers=host())
    assert again.json()["locale"] == "ko"  # the account's language now, not the session's first one
    replay = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]},
                                   headers=host())  # inside the reuse grace: the same pair, the language too
    assert replay.status_code == 200 and replay.json()["locale"] == "ko", replay.text

    # an admin signs in with TOTP: the verify answer carries it (a code of the next step: this
    # step's was spent by the enrollment)
    _, admin, secret = await env.admin("admin-lang@example.com")
    assert admin["locale"] is None
    await _patch(env.client, admin["access_token"], {"locale": "en"})
    challenge = (await env.login("admin-lang@example.com")).json()
    assert challenge["mfa_required"] and "locale" not in challenge  # no language before the second factor
    verified = await env.client.post("/api/v1/auth/mfa/totp/verify", headers=host(), json={
        "mfa_token": challenge["mfa_token"], "code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert verified.status_code == 200 and verified.json()["locale"] == "en", verified.text


async def test_migration_0009_adds_the_column_and_its_downgrade_drops_it(test_db) -> None:
    import psycopg

    from megacity.db.migrations import downgrade, upgrade

    owner = test_db.owner_url("auth")
    column = ("SELECT count(*) FROM information_schema.columns"
              " WHERE table_schema = 'auth' AND table_name = 'users' AND column_name = 'locale'")
    with psycopg.connect(test_db.admin_url, autocommit=True) as conn:
        assert conn.execute(column).fetchone() == (1,)
        downgrade("auth", owner, "0008")
        assert conn.execute(column).fetchone() == (0,)
        upgrade("auth", owner)
        assert conn.execute(column).fetchone() == (1,)
        # added NOT VALID (no scan under the ACCESS EXCLUSIVE lock), then validated in its own transaction
        assert conn.execute("SELECT convalidated FROM pg_constraint WHERE conname = 'users_locale_known'"
                            ).fetchone() == (True,)
        conn.execute("INSERT INTO auth.users (zone_id, email, password_hash, display_name, locale)"
                     " VALUES (1, 'ok@example.com', 'x', 'Ok', 'en')")
        with pytest.raises(psycopg.errors.CheckViolation, match="users_locale_known"):
            conn.execute("INSERT INTO auth.users (zone_id, email, password_hash, display_name, locale)"
                         " VALUES (1, 'fr@example.com', 'x', 'Fr', 'fr')")


def test_every_request_body_example_is_a_body_the_api_accepts() -> None:
    """The published spec's examples, not the models': FastAPI drops None values from examples, so
    a `{"locale": null}` example would be published as `{}`, which the API refuses (422)."""
    from pydantic import BaseModel

    from services.auth.main import build
    from services.auth.settings import Settings

    spec = build(Settings(environment="test")).app.openapi()
    models: dict[str, type[BaseModel]] = {}
    todo = list(BaseModel.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("services.auth."):
            models[cls.__name__] = cls
    bodies = {op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
              for ops in spec["paths"].values() for op in ops.values()
              if "$ref" in op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})}
    assert "MeUpdateIn" in bodies and "PlatformRoleIn" in bodies
    for name in bodies:
        for example in spec["components"]["schemas"][name].get("examples", []):
            models[name].model_validate(example)  # raises on a body the route would answer 422
