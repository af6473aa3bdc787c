"""Account recovery and hygiene (issue #17 §5) through a REAL SMTP server (aiosmtpd in this
process, on a free port) and the real auth service: the tests read the received mail and follow
its link. Password reset (single use, expiry, newer link wins, no enumeration, quota), email
verification, MFA recovery codes at the login challenge, my sessions (list, revoke one), and RLS
on the new tables."""
from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote

import pyotp
import pytest
import sqlalchemy.exc
from sqlalchemy import text

from megacity.smtp_testing import SmtpServer
from services.auth.db_scope import user_transaction
from services.auth.tests.conftest import PASSWORD, bearer, host, totp_now

NEW_PASSWORD = "Brand-New-Horse-7"
RESET = "/api/v1/auth/password-reset"
VERIFY = "/api/v1/auth/email-verification"
CODES = "/api/v1/auth/mfa/recovery-codes"
SESSIONS = "/api/v1/auth/sessions"


def token_of(msg: EmailMessage, path: str) -> str:
    found = re.search(re.escape(path) + r"#token=(\S+)", msg.get_content())
    assert found, msg.get_content()
    return unquote(found.group(1))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def auth_overrides(smtp: SmtpServer) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{smtp.port}", "smtp_security": "none",
            "smtp_from": "한빛 MegaCity <no-reply@univprepai.example>", "smtp_timeout_seconds": 5,
            "account_email_poll_seconds": 0.1, "smtp_retry_seconds": 0.2, "password_reset_per_email_per_hour": 3}


async def test_smtp_down_the_mail_waits_and_is_sent_once_it_is_back(env, smtp: SmtpServer) -> None:
    user_id = await env.register("retry@example.com")
    smtp.stop()
    assert (await env.client.post(RESET, json={"email": "retry@example.com"}, headers=host())).status_code == 202
    rows = await _eventually(env, "SELECT attempts, error FROM auth.account_emails WHERE user_id = :u"
                                  " AND kind = 'password_reset' AND status = 'pending' AND attempts >= 1"
                                  " AND error IS NOT NULL", u=user_id)
    assert rows[0][1]  # why it waits (connection refused)
    assert smtp.to("retry@example.com", "/reset-password") == []
    smtp.start()
    (msg,) = await smtp.wait("retry@example.com", "/reset-password")
    token = token_of(msg, "/reset-password")
    await _eventually(env, "SELECT 1 FROM auth.account_emails WHERE user_id = :u AND kind = 'password_reset'"
                           " AND status = 'sent' AND payload_sealed IS NULL", u=user_id)
    ok = await env.client.post(f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD}, headers=host())
    assert ok.status_code == 204, ok.text


async def test_password_reset_happy_path_single_use(env, smtp: SmtpServer) -> None:
    user_id = await env.register("minji@example.com")
    old = await env.tokens("minji@example.com")
    resp = await env.client.post(RESET, json={"email": " Minji@Example.com "}, headers=host())
    assert resp.status_code == 202, resp.text
    (msg,) = await smtp.wait("minji@example.com", "/reset-password")
    body = msg.get_content()
    assert "비밀번호 재설정" in msg["Subject"] and "Reset your password" in msg["Subject"]
    assert "30분" in body and "30 minutes" in body
    assert "https://www.univprepai.com/reset-password#token=pwr_" in body
    token = token_of(msg, "/reset-password")
    # Only the hash is stored; the queued mail dropped its sealed copy once sent.
    rows = await env.auth_sql("SELECT token_hash FROM auth.account_tokens WHERE user_id = :u", u=user_id)
    assert len(rows) >= 1 and all(token.encode() not in bytes(r[0]) for r in rows)
    assert hashlib.sha256(token.encode()).digest() in {bytes(r[0]) for r in rows}
    await _eventually(env, "SELECT 1 FROM auth.account_emails WHERE user_id = :u AND kind = 'password_reset'"
                           " AND status = 'sent' AND payload_sealed IS NULL", u=user_id)

    weak = await env.client.post(f"{RESET}/confirm", json={"token": token, "new_password": "short"}, headers=host())
    assert weak.status_code == 422 and weak.json()["code"] == "auth.password_weak"
    ok = await env.client.post(f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD},
                               headers=host())
    assert ok.status_code == 204, ok.text
    # Every session revoked: the old refresh token and access token stop working.
    refreshed = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]},
                                      headers=host())
    assert refreshed.status_code == 401 and refreshed.json()["code"] == "auth.session_revoked"
    assert (await env.me(old["access_token"])).status_code == 401
    assert (await env.login("minji@example.com")).status_code == 401
    assert (await env.login("minji@example.com", password=NEW_PASSWORD)).status_code == 200
    again = await env.client.post(f"{RESET}/confirm", json={"token": token, "new_password": "Another-Horse-8"},
                                  headers=host())
    assert again.status_code == 410 and again.json()["code"] == "auth.reset_token_used"
    (verified,) = await env.auth_sql("SELECT email_verified_at FROM auth.users WHERE id = :u", u=user_id)
    assert verified[0] is not None  # the mailbox answered
    actions = [r[0] for r in await env.auth_sql(
        "SELECT action FROM auth.audit_logs WHERE user_id = :u ORDER BY id", u=user_id)]
    assert "auth.password_reset.requested" in actions and "auth.password_reset.completed" in actions


async def _eventually(env, query: str, timeout: float = 10.0, **params: Any) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await env.auth_sql(query, **params)
        if rows:
            return rows
        assert time.monotonic() < deadline, query
        await asyncio.sleep(0.05)


async def test_password_reset_no_enumeration(env, smtp: SmtpServer) -> None:
    await env.register("known@example.com")
    unknown = await env.client.post(RESET, json={"email": "nobody@example.com"}, headers=host())
    known = await env.client.post(RESET, json={"email": "known@example.com"}, headers=host())
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert unknown.headers.get("content-type") == known.headers.get("content-type")
    await smtp.wait("known@example.com", "/reset-password")
    await asyncio.sleep(0.3)  # a further pass of the sender
    assert smtp.to("nobody@example.com") == []
    assert await env.auth_sql("SELECT 1 FROM auth.account_emails WHERE to_address = 'nobody@example.com'") == []
    # The audit entry names what a stranger typed only by its hash.
    ignored = [r[0] for r in await env.auth_sql("SELECT details FROM auth.audit_logs"
                                                " WHERE action = 'auth.password_reset.ignored'")]
    assert ignored and all("nobody@example.com" not in str(d) and d["account"] for d in ignored)
    # The per-email quota answers the same for both (3 an hour in this test).
    for _ in range(2):
        await env.client.post(RESET, json={"email": "nobody@example.com"}, headers=host())
        await env.client.post(RESET, json={"email": "known@example.com"}, headers=host())
    for address in ("nobody@example.com", "known@example.com"):
        limited = await env.client.post(RESET, json={"email": address}, headers=host())
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limit.exceeded"
        assert "Retry-After" in limited.headers


async def test_password_reset_newer_link_wins_and_expiry(env, smtp: SmtpServer) -> None:
    user_id = await env.register("jisoo@example.com")
    for _ in range(2):
        assert (await env.client.post(RESET, json={"email": "jisoo@example.com"}, headers=host())).status_code == 202
    first, second = [token_of(m, "/reset-password") for m in await smtp.wait("jisoo@example.com", "/reset-password", 2)]
    rows = await env.auth_sql("SELECT token_hash FROM auth.account_tokens WHERE user_id = :u AND purpose ="
                              " 'password_reset' ORDER BY created_at", u=user_id)
    assert len(rows) == 2
    # Mails may arrive in any order: find which token is the older one by trying.
    codes = {}
    for tok in (first, second):
        r = await env.client.post(f"{RESET}/confirm", json={"token": tok, "new_password": "short"}, headers=host())
        codes[tok] = r.json()["code"]
    older = next(t for t, c in codes.items() if c == "auth.reset_token_replaced")
    newer = next(t for t, c in codes.items() if c == "auth.password_weak")
    assert older != newer
    await env.auth_sql("UPDATE auth.account_tokens SET expires_at = now() - interval '1 second'"
                       " WHERE user_id = :u AND used_at IS NULL AND replaced_at IS NULL", u=user_id)
    expired = await env.client.post(f"{RESET}/confirm", json={"token": newer, "new_password": NEW_PASSWORD},
                                    headers=host())
    assert expired.status_code == 410 and expired.json()["code"] == "auth.reset_token_expired"
    unknown = await env.client.post(f"{RESET}/confirm", json={"token": "pwr_" + "x" * 43, "new_password": NEW_PASSWORD},
                                    headers=host())
    assert unknown.status_code == 400 and unknown.json()["code"] == "auth.reset_token_invalid"
    assert (await env.login("jisoo@example.com")).status_code == 200  # password unchanged


async def test_email_verification(env, smtp: SmtpServer) -> None:
    user_id, tokens = await env.user("hana@example.com")
    auth = bearer(tokens["access_token"])
    state = await env.client.get(VERIFY, headers=auth)
    assert state.status_code == 200 and state.json() == {"email": "hana@example.com", "verified": False,
                                                         "verified_at": None}
    me = (await env.me(tokens["access_token"])).json()
    assert (me["email_verified"], me["email_verified_at"]) == (False, None)
    sent = await env.client.post(VERIFY, headers=auth)
    assert sent.status_code == 202 and sent.json() == {"status": "sent", "email": "hana@example.com"}
    # The sign-up mail (register's transaction) and this one: wait for every queued link.
    (queued,) = await env.auth_sql("SELECT count(*) FROM auth.account_emails WHERE user_id = :u"
                                   " AND kind = 'email_verification'", u=user_id)
    msgs = await smtp.wait("hana@example.com", "/verify-email", count=queued[0])
    msg = msgs[-1]
    assert "이메일 주소 확인" in msg["Subject"] and "https://www.univprepai.com/verify-email#token=emv_" in msg.get_content()
    # The newest link is the live one (a sign-up mail, if any, was replaced by the resend).
    live = await env.auth_sql("SELECT count(*) FROM auth.account_tokens WHERE user_id = :u AND used_at IS NULL"
                              " AND replaced_at IS NULL AND purpose = 'email_verification'", u=user_id)
    assert live[0][0] == 1
    results = {}
    for m in msgs:
        tok = token_of(m, "/verify-email")
        results[tok] = await env.client.post(f"{VERIFY}/confirm", json={"token": tok}, headers=host())
    ok = [r for r in results.values() if r.status_code == 200]
    assert len(ok) == 1 and ok[0].json()["verified"] is True and ok[0].json()["verified_at"]
    tok = next(t for t, r in results.items() if r.status_code == 200)
    used = await env.client.post(f"{VERIFY}/confirm", json={"token": tok}, headers=host())
    assert used.status_code == 410 and used.json()["code"] == "auth.verification_token_used"
    bad = await env.client.post(f"{VERIFY}/confirm", json={"token": "emv_nope"}, headers=host())
    assert bad.status_code == 400 and bad.json()["code"] == "auth.verification_token_invalid"
    assert (await env.client.get(VERIFY, headers=auth)).json()["verified"] is True
    me = (await env.me(tokens["access_token"])).json()  # the cached profile was dropped by the confirmation
    assert me["email_verified"] is True and me["email_verified_at"]
    again = await env.client.post(VERIFY, headers=auth)
    assert again.status_code == 409 and again.json()["code"] == "auth.email_already_verified"
    assert (await env.client.get(VERIFY)).status_code in (400, 401, 404)  # no token, no state


async def test_recovery_codes_single_use_at_login(env, smtp: SmtpServer) -> None:
    user_id, tokens = await env.user("taeyang@example.com")
    auth = bearer(tokens["access_token"])
    secret = (await env.client.post("/api/v1/auth/mfa/totp/enroll", headers=auth)).json()["secret"]
    on = await env.client.post("/api/v1/auth/mfa/totp/verify", json={"code": totp_now(secret)}, headers=auth)
    assert on.status_code == 200, on.text
    codes = on.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10 and all(re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", c) for c in codes)
    stored = await env.auth_sql("SELECT code_hash FROM auth.mfa_recovery_codes WHERE user_id = :u", u=user_id)
    assert len(stored) == 10 and all(c.encode() not in bytes(r[0]) for r in stored for c in codes)
    # Keyed (a pepper from AUTH_SECRET_KEY): the database alone cannot test guesses.
    plain = {hashlib.sha256(f"{user_id}:{c}".encode()).digest() for c in codes}
    assert not plain & {bytes(r[0]) for r in stored}
    status = (await env.client.get(CODES, headers=auth)).json()
    assert (status["mfa_enabled"], status["remaining"], status["total"]) == (True, 10, 10)

    challenge = (await env.login("taeyang@example.com")).json()
    assert challenge["mfa_required"] is True
    resp = await env.client.post("/api/v1/auth/mfa/totp/verify", headers=host(),
                                 json={"mfa_token": challenge["mfa_token"], "recovery_code": codes[0].lower().replace("-", " ")})
    assert resp.status_code == 200 and resp.json()["access_token"], resp.text
    assert (await env.client.get(CODES, headers=auth)).json()["remaining"] == 9
    challenge = (await env.login("taeyang@example.com")).json()
    reused = await env.client.post("/api/v1/auth/mfa/totp/verify", headers=host(),
                                   json={"mfa_token": challenge["mfa_token"], "recovery_code": codes[0]})
    assert reused.status_code == 401 and reused.json()["code"] == "auth.recovery_code_invalid"
    both = await env.client.post("/api/v1/auth/mfa/totp/verify", headers=host(),
                                 json={"mfa_token": challenge["mfa_token"], "code": "123456", "recovery_code": codes[1]})
    assert both.status_code == 422

    # A new set needs a fresh TOTP code (the next step's: this step's code was spent turning TOTP on).
    wrong = await env.client.post(CODES, json={"code": "000000" if totp_now(secret) != "000000" else "111111"},
                                  headers=auth)
    assert wrong.status_code == 401 and wrong.json()["code"] == "auth.mfa_code_invalid"
    fresh = await env.client.post(CODES, json={"code": pyotp.TOTP(secret).at(time.time() + 30)}, headers=auth)
    assert fresh.status_code == 200, fresh.text
    new_codes = fresh.json()["recovery_codes"]
    assert len(new_codes) == 10 and fresh.json()["remaining"] == 10
    challenge = (await env.login("taeyang@example.com")).json()
    old = await env.client.post("/api/v1/auth/mfa/totp/verify", headers=host(),
                                json={"mfa_token": challenge["mfa_token"], "recovery_code": codes[2]})
    assert old.status_code == 401 and old.json()["code"] == "auth.recovery_code_invalid"
    ok = await env.client.post("/api/v1/auth/mfa/totp/verify", headers=host(),
                               json={"mfa_token": challenge["mfa_token"], "recovery_code": new_codes[0]})
    assert ok.status_code == 200, ok.text
    # Without TOTP there is nothing to regenerate.
    _, plain = await env.user("plain@example.com")
    off = await env.client.post(CODES, json={"code": "123456"}, headers=bearer(plain["access_token"]))
    assert off.status_code == 409 and off.json()["code"] == "auth.mfa_not_enabled"


async def test_my_sessions_list_and_revoke(env, smtp: SmtpServer) -> None:
    await env.register("yuna@example.com")
    phone = await env.client.post("/api/v1/auth/login", json={"email": "yuna@example.com", "password": PASSWORD},
                                  headers={**host(), "User-Agent": "Phone/1.0"})
    laptop = await env.client.post("/api/v1/auth/login", json={"email": "yuna@example.com", "password": PASSWORD},
                                   headers={**host(), "User-Agent": "Laptop/2.0"})
    phone_t, laptop_t = phone.json(), laptop.json()
    listed = await env.client.get(SESSIONS, headers=bearer(laptop_t["access_token"]))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert {i["user_agent"] for i in items} == {"Phone/1.0", "Laptop/2.0"}
    current = [i for i in items if i["current"]]
    assert len(current) == 1 and current[0]["id"] == laptop_t["session_id"]
    assert all(i["address"] and i["created_at"] and i["last_used_at"] for i in items)

    other_id, other = await env.user("other@example.com")
    foreign = await env.client.delete(f"{SESSIONS}/{phone_t['session_id']}", headers=bearer(other["access_token"]))
    assert foreign.status_code == 404 and foreign.json()["code"] == "auth.session_not_found"
    gone = await env.client.delete(f"{SESSIONS}/{uuid.uuid4()}", headers=bearer(laptop_t["access_token"]))
    assert gone.status_code == 404

    revoked = await env.client.delete(f"{SESSIONS}/{phone_t['session_id']}", headers=bearer(laptop_t["access_token"]))
    assert revoked.status_code == 204
    refreshed = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": phone_t["refresh_token"]},
                                      headers=host())
    assert refreshed.status_code == 401 and refreshed.json()["code"] == "auth.session_revoked"
    assert (await env.me(phone_t["access_token"])).status_code == 401
    assert (await env.me(laptop_t["access_token"])).status_code == 200
    left = (await env.client.get(SESSIONS, headers=bearer(laptop_t["access_token"]))).json()["items"]
    assert [i["id"] for i in left] == [laptop_t["session_id"]]
    events = await env.auth_sql("SELECT payload FROM auth.outbox WHERE event_type = 'auth.revoked'")
    assert any(e[0]["reason"] == "user_revoked" and e[0]["sids"] == [phone_t["session_id"]] for e in events)


async def test_rls_on_recovery_tables(env, smtp: SmtpServer) -> None:
    """A user sees and changes only their own tokens, recovery codes and queued mails; another
    zone's admin sees none of them."""
    a = await env.register("a@example.com")
    b = await env.register("b@example.com")
    for address in ("a@example.com", "b@example.com"):
        await env.client.post(RESET, json={"email": address}, headers=host())
    for user in (a, b):
        await env.auth_sql("INSERT INTO auth.mfa_recovery_codes (zone_id, user_id, code_hash)"
                           " VALUES (1, :u, sha256(CAST(:u AS text)::bytea))", u=user)
    tables = ("account_tokens", "mfa_recovery_codes", "account_emails")
    async with user_transaction(env.auth_sessions, 1, a, "guest") as s:
        for table in tables:
            owners = {r[0] for r in await s.execute(text(f"SELECT user_id FROM auth.{table}"))}
            assert owners == {a}, table
            changed = await s.execute(text(f"UPDATE auth.{table} SET created_at = created_at WHERE user_id = :b"),
                                      {"b": b})
            assert changed.rowcount == 0, table  # type: ignore[attr-defined]
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        async with user_transaction(env.auth_sessions, 1, a, "guest") as s:
            await s.execute(text("INSERT INTO auth.mfa_recovery_codes (zone_id, user_id, code_hash)"
                                 " VALUES (1, :b, sha256('x'::bytea))"), {"b": b})
    async with user_transaction(env.auth_sessions, 2, uuid.uuid4(), "zone_admin") as s:
        for table in tables:
            assert (await s.execute(text(f"SELECT count(*) FROM auth.{table}"))).scalar_one() == 0, table
    async with user_transaction(env.auth_sessions, 1, uuid.uuid4(), "zone_admin") as s:
        assert (await s.execute(text("SELECT count(*) FROM auth.mfa_recovery_codes"))).scalar_one() == 2


async def test_signup_mail_is_queued_in_the_registration_transaction(env, smtp: SmtpServer) -> None:
    """`queue_signup_mail` as register calls it (in its transaction): the link arrives and verifies;
    a roster login id without a mailbox gets nothing."""
    from megacity.zones import registry
    from services.auth.db_scope import scoped_transaction
    from services.auth.verification.service import queue_signup_mail

    zone = registry().zone("univ")
    st = env.auth.app.state.auth
    user_id = await env.register("sora@example.com")
    roster_id = await env.register("a1b2c3d4@roster.invalid")
    async with scoped_transaction(env.auth_sessions, zone.id, "service") as s:
        await queue_signup_mail(s, st, zone, user_id, "sora@example.com", "소라")
        await queue_signup_mail(s, st, zone, roster_id, "a1b2c3d4@roster.invalid", "Roster")
    msgs = await smtp.wait("sora@example.com", "/verify-email", count=2)  # register's own, then this one
    (mine,) = [m for m in msgs if "소라님" in m.get_content()]
    ok = await env.client.post(f"{VERIFY}/confirm", json={"token": token_of(mine, "/verify-email")},
                               headers=host())
    assert ok.status_code == 200 and ok.json()["verified"] is True
    assert await env.auth_sql("SELECT 1 FROM auth.account_emails WHERE user_id = :u", u=roster_id) == []


async def test_signup_over_http_mails_a_verification_link(env, smtp: SmtpServer) -> None:
    await env.register("newbie@example.com")
    (msg,) = await smtp.wait("newbie@example.com", "/verify-email")
    ok = await env.client.post(f"{VERIFY}/confirm", json={"token": token_of(msg, "/verify-email")}, headers=host())
    assert ok.status_code == 200 and ok.json()["verified"] is True


async def test_a_mail_not_sent_while_its_link_lived_is_skipped(env, smtp: SmtpServer) -> None:
    from megacity.mail import Mailer
    from services.auth.emails.sender import AccountEmails

    user_id = await env.register("late@example.com")
    smtp.stop()
    assert (await env.client.post(RESET, json={"email": "late@example.com"}, headers=host())).status_code == 202
    await env.auth_sql("UPDATE auth.account_emails SET created_at = now() - interval '31 minutes'"
                       " WHERE user_id = :u AND kind = 'password_reset'", u=user_id)
    mailer = Mailer.from_settings(env.auth.resources.settings)
    assert mailer is not None
    await AccountEmails(env.auth.resources, env.auth.app.state.auth, mailer).run_once()  # a fresh sender sweeps
    (row,) = await env.auth_sql("SELECT status, payload_sealed, error FROM auth.account_emails WHERE user_id = :u"
                                " AND kind = 'password_reset'", u=user_id)
    assert row[0] == "skipped" and row[1] is None and "not sent in time" in row[2]


@pytest.mark.parametrize("auth_overrides", [{}])  # no SMTP: no sender runs in this auth
async def test_without_smtp_retention_sweeps_dead_links_and_drops_old_rows(env) -> None:
    """With SMTP off queued mails never leave, so retention (hourly) erases the sealed token of
    every mail whose link died and deletes mails and tokens after 30 days."""
    from services.auth.retention.service import run_retention

    assert env.auth.app.state.account_emails is None
    settings = env.auth.app.state.auth.settings
    user_id = await env.register("quiet@example.com")
    other_id = await env.register("other-quiet@example.com")
    for address in ("quiet@example.com", "other-quiet@example.com"):
        assert (await env.client.post(RESET, json={"email": address}, headers=host())).status_code == 202
    mails = "SELECT kind, status, payload_sealed IS NULL FROM auth.account_emails WHERE user_id = :u ORDER BY kind"
    assert await env.auth_sql(mails, u=user_id) == [("email_verification", "pending", False),
                                                    ("password_reset", "pending", False)]

    await run_retention(env.auth.resources, settings)  # nothing has died yet
    assert await env.auth_sql(mails, u=user_id) == [("email_verification", "pending", False),
                                                    ("password_reset", "pending", False)]
    await env.auth_sql("UPDATE auth.account_emails SET created_at = now() - interval '31 minutes'"
                       " WHERE user_id = :u", u=user_id)
    await run_retention(env.auth.resources, settings)  # the 30-minute reset link died, the 48-hour one lives
    assert await env.auth_sql(mails, u=user_id) == [("email_verification", "pending", False),
                                                    ("password_reset", "skipped", True)]

    for table in ("account_emails", "account_tokens"):
        await env.auth_sql(f"UPDATE auth.{table} SET created_at = now() - interval '31 days' WHERE user_id = :u",
                           u=user_id)
    report = await run_retention(env.auth.resources, settings)
    assert report.rows_deleted["account_emails"] == 2 and report.rows_deleted["account_tokens"] == 2
    assert await env.auth_sql(mails, u=user_id) == []
    assert await env.auth_sql("SELECT 1 FROM auth.account_tokens WHERE user_id = :u", u=user_id) == []
    # Another account's fresh mails and links stay, still pending.
    (emails,) = await env.auth_sql("SELECT count(*) FROM auth.account_emails WHERE user_id = :u AND"
                                   " status = 'pending' AND payload_sealed IS NOT NULL", u=other_id)
    (tokens,) = await env.auth_sql("SELECT count(*) FROM auth.account_tokens WHERE user_id = :u", u=other_id)
    assert emails[0] == 2 and tokens[0] == 2


async def _reset_link(env, smtp: SmtpServer, address: str, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """Ask for a reset link and read it from the mail: (the whole link, its token)."""
    before = len(smtp.to(address, "/reset-password"))
    resp = await env.client.post(RESET, json={"email": address}, headers=headers or host())
    assert resp.status_code == 202, resp.text
    msg = (await smtp.wait(address, "/reset-password", count=before + 1))[-1]
    found = re.search(r"(\S+/reset-password)#token=(\S+)", msg.get_content())
    assert found, msg.get_content()
    return found.group(1), unquote(found.group(2))


async def test_two_confirmations_of_one_link_at_once_one_wins(env, smtp: SmtpServer) -> None:
    await env.register("twice@example.com")
    _, token = await _reset_link(env, smtp, "twice@example.com")
    answers = await asyncio.gather(*(
        env.client.post(f"{RESET}/confirm", json={"token": token, "new_password": pw}, headers=host())
        for pw in (NEW_PASSWORD, "Another-Horse-8")))
    assert sorted(a.status_code for a in answers) == [204, 410], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 410)
    assert loser.json()["code"] == "auth.reset_token_used"
    winner = NEW_PASSWORD if answers[0].status_code == 204 else "Another-Horse-8"
    assert (await env.login("twice@example.com", password=winner)).status_code == 200


async def test_the_link_names_the_zone_whatever_the_forwarded_host(env, smtp: SmtpServer) -> None:
    """The link's host comes from the zone's configured domain, never from request headers."""
    await env.register("forwarded@example.com")
    link, _ = await _reset_link(env, smtp, "forwarded@example.com",
                                headers={**host(), "X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"})
    assert link == "https://www.univprepai.com/reset-password"


async def test_a_link_dies_with_another_password_change_or_a_disabled_account(env, smtp: SmtpServer) -> None:
    user_id, tokens = await env.user("changer@example.com")
    _, token = await _reset_link(env, smtp, "changer@example.com")
    changed = await env.client.post("/api/v1/auth/password", headers=bearer(tokens["access_token"]),
                                    json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 204, changed.text
    stale = await env.client.post(f"{RESET}/confirm", json={"token": token, "new_password": "Another-Horse-8"},
                                  headers=host())
    assert stale.status_code == 410 and stale.json()["code"] == "auth.reset_token_replaced"

    _, token = await _reset_link(env, smtp, "changer@example.com")
    await env.auth_sql("UPDATE auth.users SET status = 'disabled' WHERE id = :u", u=user_id)
    off = await env.client.post(f"{RESET}/confirm", json={"token": token, "new_password": "Another-Horse-8"},
                                headers=host())
    assert off.status_code == 400 and off.json()["code"] == "auth.reset_token_invalid"
    await env.auth_sql("UPDATE auth.users SET status = 'active' WHERE id = :u", u=user_id)
    assert (await env.login("changer@example.com", password=NEW_PASSWORD)).status_code == 200


async def test_a_reset_lifts_the_login_block(env, smtp: SmtpServer) -> None:
    await env.register("blocked@example.com")
    for _ in range(5):
        assert (await env.login("blocked@example.com", password="Wrong-Horse-1")).status_code == 401
    blocked = await env.login("blocked@example.com")
    assert blocked.status_code == 429 and blocked.json()["code"] == "auth.too_many_attempts"
    _, token = await _reset_link(env, smtp, "blocked@example.com")
    ok = await env.client.post(f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD},
                               headers=host())
    assert ok.status_code == 204, ok.text
    assert (await env.login("blocked@example.com", password=NEW_PASSWORD)).status_code == 200


async def _with_totp(env, email: str) -> tuple[pyotp.TOTP, list[str]]:
    _, tokens = await env.user(email)
    auth = bearer(tokens["access_token"])
    secret = (await env.client.post("/api/v1/auth/mfa/totp/enroll", headers=auth)).json()["secret"]
    on = await env.client.post("/api/v1/auth/mfa/totp/verify", json={"code": totp_now(secret)}, headers=auth)
    assert on.status_code == 200, on.text
    return pyotp.TOTP(secret), on.json()["recovery_codes"]


async def test_one_recovery_code_on_two_challenges_at_once_opens_one(env, smtp: SmtpServer) -> None:
    _, codes = await _with_totp(env, "racer@example.com")
    challenges = [(await env.login("racer@example.com")).json()["mfa_token"] for _ in range(2)]
    answers = await asyncio.gather(*(
        env.client.post("/api/v1/auth/mfa/totp/verify", json={"mfa_token": t, "recovery_code": codes[0]},
                        headers=host()) for t in challenges))
    assert sorted(a.status_code for a in answers) == [200, 401], [a.text for a in answers]
    assert next(a for a in answers if a.status_code == 401).json()["code"] == "auth.recovery_code_invalid"


async def test_wrong_recovery_codes_count_against_the_account(env, smtp: SmtpServer) -> None:
    """A challenge allows 5 wrong answers, and a right password opens a new one: wrong recovery
    codes also count against the account, so 5 of them block it like 5 wrong passwords."""
    await _with_totp(env, "guessed@example.com")
    challenge = (await env.login("guessed@example.com")).json()
    for _ in range(5):
        wrong = await env.client.post("/api/v1/auth/mfa/totp/verify", headers=host(),
                                      json={"mfa_token": challenge["mfa_token"], "recovery_code": "AAAAA-AAAAA"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "auth.recovery_code_invalid"
    blocked = await env.login("guessed@example.com")
    assert blocked.status_code == 429 and blocked.json()["code"] == "auth.too_many_attempts"


async def test_first_login_with_totp_stores_its_recovery_codes_with_it(env, smtp: SmtpServer) -> None:
    """An admin's first login turns TOTP on and gets the recovery codes, written in the same
    transaction (the audit entry of turning TOTP on counts them)."""
    user_id, _, _ = await env.admin("first@example.com")
    (count,) = await env.auth_sql("SELECT count(*) FROM auth.mfa_recovery_codes WHERE user_id = :u", u=user_id)
    assert count[0] == 10
    (details,) = await env.auth_sql("SELECT details FROM auth.audit_logs WHERE user_id = :u"
                                    " AND action = 'auth.mfa.enabled'", u=user_id)
    assert details[0] == {"recovery_codes": 10}


@pytest.mark.parametrize("auth_overrides", [{}])  # no background sender: this test runs the passes
async def test_a_mail_that_cannot_be_sent_does_not_hold_up_its_batch(env, smtp: SmtpServer) -> None:
    from megacity.mail import Mailer, SmtpConfig
    from services.auth.emails.sender import AccountEmails

    good, bad = await env.register("good@example.com"), await env.register("bad@example.com")
    await env.auth_sql("UPDATE auth.account_emails SET payload_sealed = 'not-a-sealed-token' WHERE user_id = :u",
                       u=bad)
    mailer = Mailer(SmtpConfig("127.0.0.1", smtp.port, "", "", "none", "MegaCity <no-reply@example.com>", 5.0, False),
                    "auth")
    assert await AccountEmails(env.auth.resources, env.auth.app.state.auth, mailer).run_once() == 1
    await smtp.wait("good@example.com", "/verify-email")
    (row,) = await env.auth_sql("SELECT status, attempts, error FROM auth.account_emails WHERE user_id = :u", u=bad)
    assert row[0] == "pending" and row[1] == 1 and row[2]  # tried again later, then given up
    (sent,) = await env.auth_sql("SELECT status FROM auth.account_emails WHERE user_id = :u", u=good)
    assert sent[0] == "sent"
