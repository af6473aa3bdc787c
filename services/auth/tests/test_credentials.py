"""Registration, the password policy, password change, and login failures that reveal nothing."""
from __future__ import annotations

from services.auth.tests.conftest import PASSWORD, bearer, host

NEW_PASSWORD = "Battery-Staple-42"


async def _count_users(env) -> int:
    return (await env.auth_sql("SELECT count(*) AS n FROM auth.users"))[0].n


async def test_registration_rules_and_nothing_half_written(env) -> None:
    await env.register("first@example.com")
    cases = [
        ({"email": "weak@example.com", "password": "short"}, 422, "auth.password_weak"),
        ({"email": "weak@example.com", "password": "alllowercase1!"}, 422, "auth.password_weak"),
        ({"email": "top-secret9@example.com", "password": "Top-Secret9@Example.com"}, 422, "auth.password_weak"),
        ({"email": "top-secret9@example.com", "password": "Top-Secret9"}, 422, "auth.password_weak"),
        ({"email": "not-an-email", "password": PASSWORD}, 422, "auth.email_invalid"),
        ({"email": "FIRST@example.com", "password": PASSWORD}, 409, "auth.email_taken"),
        ({"email": "phone@example.com", "password": PASSWORD, "phone": "call me"}, 422, "auth.phone_invalid"),
        ({"email": "x@example.com"}, 422, "request.invalid"),
    ]
    before = await _count_users(env)
    for body, status, code in cases:
        resp = await env.client.post("/api/v1/auth/register", json={"display_name": "X", **body}, headers=host())
        assert (resp.status_code, resp.json()["code"]) == (status, code), (body, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
    weak = await env.client.post("/api/v1/auth/register", headers=host(),
                                 json={"email": "w@example.com", "password": "abcdefgh", "display_name": "W"})
    assert set(weak.json()["violations"]) == {"at least one uppercase character", "at least one digit character",
                                              "at least one symbol character"}
    same = await env.client.post("/api/v1/auth/register", headers=host(), json={
        "email": "top-secret9@example.com", "password": "Top-Secret9@Example.com", "display_name": "T"})
    assert same.json()["violations"] == ["must not be the email address"]
    assert await _count_users(env) == before
    # the same email in another zone is another account
    await env.register("first@example.com", zone_id=2)


async def test_unknown_user_and_wrong_password_get_the_same_answer(env) -> None:
    await env.register("exists@example.com")
    unknown = await env.login("nobody@example.com", password=PASSWORD, address="192.0.2.1")
    wrong = await env.login("exists@example.com", password="Wrong-pass-1", address="192.0.2.2")
    strip = lambda r: {k: v for k, v in r.json().items() if k != "instance"}  # noqa: E731
    assert unknown.status_code == wrong.status_code == 401
    assert strip(unknown) == strip(wrong) == {"type": "about:blank", "title": "Unauthorized", "status": 401,
                                              "code": "auth.invalid_credentials",
                                              "detail": "email or password is incorrect"}
    # the audit log (zone admins only) does tell them apart
    rows = await env.auth_sql("SELECT details FROM auth.audit_logs WHERE action = 'auth.login.failed' ORDER BY id")
    assert [r.details["reason"] for r in rows] == ["unknown_user", "wrong_password"]


async def test_password_change_revokes_every_session(env) -> None:
    user_id, one = await env.user("changer@example.com")
    two = await env.tokens("changer@example.com")
    url = "/api/v1/auth/password"
    wrong = await env.client.post(url, json={"current_password": "Nope-nope-1", "new_password": NEW_PASSWORD},
                                  headers=bearer(one["access_token"]))
    assert wrong.status_code == 403 and wrong.json()["code"] == "auth.password_incorrect"
    weak = await env.client.post(url, json={"current_password": PASSWORD, "new_password": "changer@example.com"},
                                 headers=bearer(one["access_token"]))
    assert weak.status_code == 422 and weak.json()["code"] == "auth.password_weak"
    same = await env.client.post(url, json={"current_password": PASSWORD, "new_password": PASSWORD},
                                 headers=bearer(one["access_token"]))
    assert same.status_code == 422
    assert (await env.me(one["access_token"])).status_code == 200  # failures change nothing
    ok = await env.client.post(url, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                               headers=bearer(one["access_token"]))
    assert ok.status_code == 204, ok.text
    for tokens in (one, two):
        assert (await env.me(tokens["access_token"])).json()["code"] == "auth.token_revoked"
        resp = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                                     headers=host())
        assert resp.json()["code"] == "auth.session_revoked"
    assert (await env.login("changer@example.com")).status_code == 401
    assert (await env.me((await env.tokens("changer@example.com", password=NEW_PASSWORD))["access_token"])
            ).status_code == 200
    event = (await env.auth_sql("SELECT payload FROM auth.outbox WHERE event_type = 'auth.revoked'"))[0].payload
    assert event["reason"] == "password_changed" and sorted(event["sids"]) == sorted(
        [one["session_id"], two["session_id"]])
    assert str(user_id) == event["user_id"]


