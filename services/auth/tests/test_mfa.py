"""TOTP MFA: mandatory for super_admin, zone_admin and org_admin (no tokens before a verified
code), optional for everyone else; codes work once; a challenge allows five wrong codes."""
from __future__ import annotations

import pyotp

from services.auth.tests.conftest import bearer, host, totp_now


async def _verify(env, mfa_token: str | None, code: str, token: str | None = None):
    body = {"code": code} | ({"mfa_token": mfa_token} if mfa_token else {})
    headers = bearer(token) if token else host()
    return await env.client.post("/api/v1/auth/mfa/totp/verify", json=body, headers=headers)


async def test_admin_roles_get_a_challenge_not_tokens(env) -> None:
    # org_admin comes from a tenant membership
    user_id = await env.register("principal@example.com")
    org = await env.org()
    await env.member(1, org, user_id, "org_admin")
    challenge = await env.login("principal@example.com")
    body = challenge.json()
    assert challenge.status_code == 200 and body["mfa_required"] and body["enrollment_required"]
    assert "access_token" not in body and "set-cookie" not in challenge.headers
    # enroll with the challenge, then a wrong code, then the right one
    enroll = await env.client.post("/api/v1/auth/mfa/totp/enroll", json={"mfa_token": body["mfa_token"]},
                                   headers=host())
    assert enroll.status_code == 200, enroll.text
    secret = enroll.json()["secret"]
    assert enroll.json()["otpauth_uri"].startswith("otpauth://totp/MegaCity:principal%40example.com")
    wrong = await _verify(env, body["mfa_token"], "000000" if totp_now(secret) != "000000" else "111111")
    assert wrong.status_code == 401 and wrong.json()["code"] == "auth.mfa_code_invalid"
    code = totp_now(secret)
    ok = await _verify(env, body["mfa_token"], code)
    assert ok.status_code == 200, ok.text
    tokens = ok.json()
    assert (tokens["role"], tokens["org_id"]) == ("org_admin", str(org)) and "mc_refresh=" in ok.headers["set-cookie"]
    me = (await env.me(tokens["access_token"])).json()
    assert me["mfa_enabled"] and "class:*" in me["permissions"]
    # the challenge is spent, and the code cannot be replayed on a fresh challenge
    assert (await _verify(env, body["mfa_token"], code)).json()["code"] == "auth.mfa_challenge_invalid"
    again = (await env.login("principal@example.com")).json()
    assert again["mfa_required"] and not again["enrollment_required"]
    assert (await _verify(env, again["mfa_token"], code)).json()["code"] == "auth.mfa_code_invalid"
    # enrolling again is refused once TOTP is on
    refused = await env.client.post("/api/v1/auth/mfa/totp/enroll", json={"mfa_token": again["mfa_token"]},
                                    headers=host())
    assert refused.status_code == 409 and refused.json()["code"] == "auth.mfa_already_enabled"
    # the secret is encrypted at rest
    rows = await env.auth_sql("SELECT mfa_secret_encrypted FROM auth.users WHERE id = :u", u=user_id)
    assert secret not in rows[0].mfa_secret_encrypted

    # zone_admin and super_admin (platform roles from the bootstrap CLI) go through the same gate
    for role in ("zone_admin", "super_admin"):
        _, admin_tokens, _ = await env.admin(f"{role}@example.com", role=role)
        assert admin_tokens["role"] == role and admin_tokens["org_id"] is None
        assert (await env.me(admin_tokens["access_token"])).json()["mfa_enabled"]


async def test_student_may_turn_totp_on_and_challenges_run_out(env) -> None:
    user_id = await env.register("careful@example.com")
    org = await env.org()
    await env.member(1, org, user_id, "student")
    tokens = await env.tokens("careful@example.com")
    assert tokens["role"] == "student"
    assert (await env.me(tokens["access_token"])).json()["mfa_enabled"] is False  # (now cached)
    # not enrolled yet: verify says so
    resp = await _verify(env, None, "123456", tokens["access_token"])
    assert resp.status_code == 409 and resp.json()["code"] == "auth.mfa_not_enrolled"
    secret = (await env.client.post("/api/v1/auth/mfa/totp/enroll", headers=bearer(tokens["access_token"]))).json()[
        "secret"]
    resp = await _verify(env, None, pyotp.TOTP(secret).now(), tokens["access_token"])
    assert resp.status_code == 200 and resp.json()["mfa_enabled"] is True and len(resp.json()["recovery_codes"]) == 10
    assert (await env.me(tokens["access_token"])).json()["mfa_enabled"] is True  # the cache was dropped
    # from now on the student's logins are challenged too
    challenge = (await env.login("careful@example.com")).json()
    assert challenge["mfa_required"] and not challenge["enrollment_required"]
    bad = "000000" if totp_now(secret) != "000000" else "111111"
    for _ in range(5):
        assert (await _verify(env, challenge["mfa_token"], bad)).json()["code"] == "auth.mfa_code_invalid"
    # five wrong codes: the challenge is gone, even for the right code
    dead = await _verify(env, challenge["mfa_token"], totp_now(secret))
    assert dead.status_code == 401 and dead.json()["code"] == "auth.mfa_challenge_invalid"
    failed = await env.auth_sql("SELECT count(*) AS n FROM auth.audit_logs WHERE action = 'auth.mfa.failed'")
    assert failed[0].n == 5
