"""Notification emails (issue #13 §3) through a REAL SMTP server (aiosmtpd in this process, on a
free port) and the real tenant service: a parent-link request mails the student and the org
admins (UTF-8: Korean names), SMTP down loses nothing and delivers once when it is back, tries
end after `smtp_max_attempts`, and with no SMTP configured nothing is attempted."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.smtp_testing import SmtpServer
from megacity.testing import run_service
from services.tenant.notifications import email as notification_email
from services.tenant.notifications import queries
from services.tenant.notifications.service import notify
from services.tenant.tests.conftest import Tenant

LINKS = "/api/v1/parent-links"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()


StartTenant = Callable[..., Any]


@pytest.fixture
def start_tenant(test_db, namespace, token_mint, fake_auth, redis_client) -> StartTenant:
    """The real tenant service with SMTP settings of the test (as the conftest's `tenant`)."""
    servicer, target = fake_auth

    @asynccontextmanager
    async def start(**smtp: object) -> AsyncIterator[Tenant]:
        async with run_service("tenant", test_db, namespace, grpc_peers={"auth": target}, **smtp) as runtime:
            token_mint.install(runtime.app)
            engine = make_engine(test_db.app_url("tenant"), pool_size=2)
            truth = test_db.superuser_engine()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.http_port}", timeout=30) as client:
                try:
                    yield Tenant(runtime, test_db, token_mint, servicer, client, make_sessionmaker(engine),
                                 f"127.0.0.1:{runtime.grpc_port}", truth)
                finally:
                    await engine.dispose()
                    await truth.dispose()

    return start


def _smtp_settings(smtp: SmtpServer, **more: object) -> dict[str, object]:
    return {"smtp_url": f"smtp://127.0.0.1:{smtp.port}", "smtp_security": "none",
            "smtp_from": "한빛고 알림 <no-reply@hanbit.example>", "smtp_timeout_seconds": 5, **more}


async def _school(tenant: Tenant) -> dict[str, Any]:
    """An org with two admins (one with a generated login id: no mailbox) and a registered
    student on the roster; a guest that asks to be the student's parent by email."""
    org = await tenant.make_org(1, "한빛고등학교")
    admin = tenant.actor(1, "org_admin", org, user_id=tenant.auth.add(1, "principal@hanbit.example", "박교장"))
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    no_mailbox = tenant.auth.add(1, "a1b2c3d4@roster.invalid", "이선생")
    await tenant.add_member(1, org, no_mailbox, "org_admin")
    s_user = tenant.auth.add(1, "minji@example.com", "민지")
    rec = await tenant.client.post("/api/v1/rosters/students", headers=admin.headers, json={
        "name": "김민지", "grade": 10, "parent_phone": "010-1234-5678", "email": "minji@example.com"})
    assert rec.status_code == 201, rec.text
    resp = await tenant.client.post(f"/api/v1/orgs/{org}/members", headers=admin.headers,
                                    json={"user_id": str(s_user), "role": "student"})
    assert resp.status_code == 201, resp.text
    mom = tenant.actor(1, "guest", None, user_id=tenant.auth.add(1, "mom@example.com", "엄마"))
    return {"org": org, "admin": admin, "student": tenant.actor(1, "student", org, user_id=s_user), "mom": mom,
            "no_mailbox": no_mailbox}


async def _ask(tenant: Tenant, school: dict[str, Any]) -> dict[str, Any]:
    resp = await tenant.client.post(LINKS, headers=school["mom"].headers,
                                    json={"org_id": str(school["org"]), "student_email": "minji@example.com"})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _email_rows(tenant: Tenant, org: uuid.UUID) -> dict[uuid.UUID, Any]:
    rows = await tenant.sql("SELECT user_id, kind, email_status, email_attempts, emailed_at, email_error"
                            " FROM tenant.notifications WHERE org_id = :o", o=org)
    return {r.user_id: r for r in rows}


async def _driven_by_test(tenant: Tenant) -> notification_email.NotificationEmails:
    """The service's sender with its loop stopped (before any email exists): the test runs the passes."""
    sender = tenant.runtime.app.state.notification_emails
    assert isinstance(sender, notification_email.NotificationEmails)
    await sender.close()
    return sender


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for the service's background sender (its own loop) to get somewhere."""
    for _ in range(600):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_link_request_mails_student_and_admins_in_utf8(start_tenant, smtp, monkeypatch) -> None:
    monkeypatch.setattr(notification_email, "POLL_SECONDS", 0.1)
    smtp.start()
    async with start_tenant(**_smtp_settings(smtp)) as tenant:
        school = await _school(tenant)
        link = await _ask(tenant, school)

        async def all_decided() -> bool:
            rows = (await _email_rows(tenant, school["org"])).values()
            return len(rows) == 3 and all(r.email_status != "pending" for r in rows)
        await _until(all_decided, "the three notification emails are decided")

        rows = await _email_rows(tenant, school["org"])
        student, admin = school["student"].user_id, school["admin"].user_id
        assert {u: r.email_status for u, r in rows.items()} == {
            student: "sent", admin: "sent", school["no_mailbox"]: "skipped"}
        assert rows[student].emailed_at is not None and rows[school["no_mailbox"]].emailed_at is None
        assert sorted(rcpt for rcpt, _ in smtp.messages) == ["minji@example.com", "principal@hanbit.example"]

        [to_student] = smtp.to("minji@example.com")
        subject = to_student["Subject"]
        assert "김민지" in subject and "엄마" in subject and "asked to be linked" in subject
        assert "mom@example.com" not in subject  # notification rows are plain text: no email in them
        assert to_student["To"].addresses[0].display_name == "민지"
        assert to_student["From"].addresses[0].display_name == "한빛고 알림"
        assert to_student.get_content_type() == "text/plain" and to_student.get_content_charset() == "utf-8"
        body = to_student.get_content()
        assert body.startswith("Hello 민지,") and "김민지" in body and "School: 한빛고등학교" in body
        assert "https://app.univprepai.com/" in body and "approve or reject" in body
        [to_admin] = smtp.to("principal@hanbit.example")
        assert to_admin["Subject"] == subject and to_admin.get_content().startswith("Hello 박교장,")

        # In-app as well, unchanged by the email.
        notes = (await tenant.client.get("/api/v1/notifications", headers=school["student"].headers)).json()
        assert [n["kind"] for n in notes["items"]] == ["parent_link.requested"]

        # The student approves: the parent hears by email too.
        resp = await tenant.client.post(f"{LINKS}/{link['id']}/approve", headers=school["student"].headers)
        assert resp.status_code == 200, resp.text

        async def parent_mailed() -> bool:
            return bool(smtp.to("mom@example.com"))
        await _until(parent_mailed, "the parent's email")
        [to_mom] = smtp.to("mom@example.com")
        assert to_mom["Subject"].endswith("Your link to 김민지 was approved")
        assert len(smtp.messages) == 3  # nobody was mailed twice


async def test_smtp_down_loses_nothing_and_delivers_once_when_back(start_tenant, smtp) -> None:
    async with start_tenant(**_smtp_settings(smtp, smtp_retry_seconds=0)) as tenant:
        sender = await _driven_by_test(tenant)
        school = await _school(tenant)
        await _ask(tenant, school)
        mailable = {school["student"].user_id, school["admin"].user_id}

        # Nothing listens on the SMTP port: tried, counted, kept.
        for attempt in (1, 2):
            assert await sender.run_once() == 0
            rows = await _email_rows(tenant, school["org"])
            for user in mailable:
                assert (rows[user].email_status, rows[user].email_attempts) == ("pending", attempt)
                assert rows[user].emailed_at is None and rows[user].email_error
        assert smtp.messages == []

        smtp.start()  # back
        assert await sender.run_once() == 2
        assert await sender.run_once() == 0  # once: nothing is sent again
        assert sorted(rcpt for rcpt, _ in smtp.messages) == ["minji@example.com", "principal@hanbit.example"]
        rows = await _email_rows(tenant, school["org"])
        for user in mailable:
            assert (rows[user].email_status, rows[user].email_attempts) == ("sent", 3)
            assert rows[user].emailed_at is not None


async def test_tries_end_after_max_attempts(start_tenant, smtp) -> None:
    async with start_tenant(**_smtp_settings(smtp, smtp_retry_seconds=0, smtp_max_attempts=2)) as tenant:
        sender = await _driven_by_test(tenant)
        school = await _school(tenant)
        await _ask(tenant, school)
        for _ in range(3):
            assert await sender.run_once() == 0
        rows = await _email_rows(tenant, school["org"])
        student = rows[school["student"].user_id]
        assert (student.email_status, student.email_attempts) == ("failed", 2)
        assert student.email_error.startswith("after 2 tries:")
        smtp.start()
        assert await sender.run_once() == 0 and smtp.messages == []  # given up stays given up
        notes = (await tenant.client.get("/api/v1/notifications", headers=school["student"].headers)).json()
        assert [n["kind"] for n in notes["items"]] == ["parent_link.requested"]  # in-app regardless


async def test_a_sender_that_died_mid_send_is_retried_after_its_lease(start_tenant, smtp) -> None:
    smtp.start()
    async with start_tenant(**_smtp_settings(smtp)) as tenant:
        sender = await _driven_by_test(tenant)
        org = await tenant.make_org(1, "Org")
        user = tenant.auth.add(1, "jun@example.com", "준")
        async with tenant_transaction(tenant.sessions, TenantContext(1, org, "org_admin", uuid.uuid4())) as s:
            await notify(s, 1, org, [user], "test.kind", "이준에게 알림", {})
        # Another replica claims it and dies: the row is leased, not lost.
        async with tenant_transaction(tenant.sessions, TenantContext(1, role="zone_admin")) as s:
            assert [j.user_id for j in await queries.claim_emails(s, 1, 10, lease_seconds=3600)] == [user]
        assert await sender.run_once() == 0  # still leased to the dead one
        await tenant.sql("UPDATE tenant.notifications SET email_next_at = now() WHERE org_id = :o", o=org)  # lease over
        assert await sender.run_once() == 1
        [(rcpt, msg)] = smtp.messages
        assert rcpt == "jun@example.com" and msg["Subject"].endswith("이준에게 알림")
        row = (await _email_rows(tenant, org))[user]
        assert (row.email_status, row.email_attempts) == ("sent", 2)


async def test_without_smtp_nothing_is_attempted(tenant) -> None:
    assert tenant.runtime.app.state.notification_emails is None
    school = await _school(tenant)
    await _ask(tenant, school)
    rows = await _email_rows(tenant, school["org"])
    assert len(rows) == 3
    assert {(r.email_status, r.email_attempts, r.email_error) for r in rows.values()} == {("pending", 0, None)}
    notes = (await tenant.client.get("/api/v1/notifications", headers=school["admin"].headers)).json()
    assert [n["kind"] for n in notes["items"]] == ["parent_link.requested"]


async def test_mailer_scope_is_bounded_to_its_zone_and_requests_stay_mine(tenant) -> None:
    """RLS (migration 0009): the sender's scope sees every user's rows of ONE zone; without it a
    zone admin context sees none, and a request still sees only its own."""
    org1, org2 = await tenant.make_org(1), await tenant.make_org(2)
    me, other = uuid.uuid4(), uuid.uuid4()
    for zone, org in ((1, org1), (2, org2)):
        async with tenant_transaction(tenant.sessions, TenantContext(zone, org, "org_admin", uuid.uuid4())) as s:
            await notify(s, zone, org, [me, other], "test.kind", "note", {})
    async with tenant_transaction(tenant.sessions, TenantContext(1, role="zone_admin")) as s:
        assert (await s.execute(text("SELECT count(*) FROM tenant.notifications"))).scalar() == 0
        claimed = await queries.claim_emails(s, 1, 10, lease_seconds=0)
        assert sorted(j.org_id for j in claimed) == [org1, org1]
        assert await queries.claim_emails(s, 2, 10, lease_seconds=0) == []  # another zone: invisible
    async with tenant_transaction(tenant.sessions, TenantContext(1, org1, "teacher", me)) as s:
        assert [r.user_id for r in (await s.execute(text("SELECT user_id FROM tenant.notifications"))).all()] == [me]
        changed = await s.execute(text("UPDATE tenant.notifications SET email_status = 'skipped' RETURNING user_id"))
        assert [r.user_id for r in changed.all()] == [me]
    states = await tenant.sql("SELECT zone_id, user_id, email_status, email_attempts FROM tenant.notifications")
    assert sorted((r.zone_id, r.user_id == me, r.email_status, r.email_attempts) for r in states) == [
        (1, False, "pending", 1), (1, True, "skipped", 1), (2, False, "pending", 0), (2, True, "pending", 0)]
