"""In-app notifications: the caller's own only (also in the database: RLS by org and, for reads
and changes, by user), newest first in cursor pages, marked read once."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from megacity.db import TenantContext, tenant_transaction
from services.tenant.notifications.service import notify
from services.tenant.tests.conftest import STUDENT_PHONE_COLUMNS, sealed_phone

NOTES = "/api/v1/notifications"


async def _notify(tenant, org: uuid.UUID, user: uuid.UUID, n: int, kind: str = "test.kind") -> None:
    for i in range(n):  # one transaction each: distinct created_at
        async with tenant_transaction(tenant.sessions, TenantContext(1, org, "org_admin", uuid.uuid4())) as s:
            await notify(s, 1, org, [user], kind, f"note {i}", {"i": i})


async def test_pages_read_and_unread(tenant) -> None:
    org = await tenant.make_org(1)
    me = tenant.actor(1, "teacher", org)
    colleague = tenant.actor(1, "teacher", org)
    await _notify(tenant, org, me.user_id, 3)
    await _notify(tenant, org, colleague.user_id, 1)

    first = (await tenant.client.get(NOTES, params={"limit": 2}, headers=me.headers)).json()
    assert [n["title"] for n in first["items"]] == ["note 2", "note 1"] and first["total"] == 3
    assert first["next_cursor"]
    second = (await tenant.client.get(NOTES, params={"limit": 2, "cursor": first["next_cursor"]},
                                      headers=me.headers)).json()
    assert [n["title"] for n in second["items"]] == ["note 0"] and second["next_cursor"] is None
    resp = await tenant.client.get(NOTES, params={"cursor": "bogus"}, headers=me.headers)
    assert resp.status_code == 400 and resp.json()["code"] == "request.invalid_cursor"

    newest = first["items"][0]
    resp = await tenant.client.post(f"{NOTES}/{newest['id']}/read", headers=me.headers)
    assert resp.status_code == 200 and resp.json()["read_at"]
    again = await tenant.client.post(f"{NOTES}/{newest['id']}/read", headers=me.headers)
    assert again.json()["read_at"] == resp.json()["read_at"]
    unread = (await tenant.client.get(NOTES, params={"unread": "true"}, headers=me.headers)).json()
    assert [n["title"] for n in unread["items"]] == ["note 1", "note 0"]

    # A colleague in the same org sees and marks only its own.
    assert [n["title"] for n in (await tenant.client.get(NOTES, headers=colleague.headers)).json()["items"]] == ["note 0"]
    resp = await tenant.client.post(f"{NOTES}/{first['items'][1]['id']}/read", headers=colleague.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "notification.not_found"
    # A guest (no org) has no notifications to read.
    guest = tenant.actor(1, "guest")
    resp = await tenant.client.get(NOTES, headers=guest.headers)
    assert resp.status_code == 403 and resp.json()["code"] == "org.membership_required"


@pytest.mark.parametrize("table", ["notifications", "parent_codes"])
async def test_rls_keeps_orgs_and_users_apart(tenant, table: str) -> None:
    a, b = await tenant.make_org(1), await tenant.make_org(1)
    user_a, user_b = uuid.uuid4(), uuid.uuid4()
    for org, user in ((a, user_a), (b, user_b)):
        if table == "notifications":
            await _notify(tenant, org, user, 1)
        else:
            sid = (await tenant.sql(f"INSERT INTO tenant.students (zone_id, org_id, name, grade, {STUDENT_PHONE_COLUMNS})"
                                    " VALUES (1, :o, 'Kid', 1, :pe, :pi, :kid) RETURNING id", o=org,
                                    **sealed_phone()))[0].id
            await tenant.sql("INSERT INTO tenant.parent_codes (zone_id, org_id, student_id, code_hash, created_by,"
                             " expires_at) VALUES (1, :o, :s, :h, :u, now() + interval '1 day')",
                             o=org, s=sid, h=uuid.uuid4().bytes, u=user)
    ctx_a = TenantContext(1, a, "org_admin", user_a)
    async with tenant_transaction(tenant.sessions, ctx_a) as s:
        seen = set((await s.execute(text(f"SELECT org_id FROM tenant.{table}"))).scalars())
        upd = await s.execute(text(f"UPDATE tenant.{table} SET zone_id = zone_id WHERE org_id = :b"), {"b": b})
        dele = await s.execute(text(f"DELETE FROM tenant.{table} WHERE org_id = :b"), {"b": b})
    assert seen == {a} and (upd.rowcount, dele.rowcount) == (0, 0)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        async with tenant_transaction(tenant.sessions, ctx_a) as s:
            if table == "notifications":
                await notify(s, 1, b, [user_a], "x", "into another org", {})
            else:
                await s.execute(text("INSERT INTO tenant.parent_codes (zone_id, org_id, student_id, code_hash,"
                                     " created_by, expires_at) VALUES (1, :b, gen_random_uuid(), 'x', :u, now())"),
                                {"b": b, "u": user_a})
    counts = dict(await tenant.sql(f"SELECT org_id, count(*) FROM tenant.{table} GROUP BY org_id"))
    assert counts == {a: 1, b: 1}

    if table == "notifications":
        # Same org, another user: no row to read, change or delete.
        other = TenantContext(1, a, "org_admin", uuid.uuid4())
        async with tenant_transaction(tenant.sessions, other) as s:
            assert (await s.execute(text("SELECT count(*) FROM tenant.notifications"))).scalar_one() == 0
            upd = await s.execute(text("UPDATE tenant.notifications SET read_at = now()"))
            dele = await s.execute(text("DELETE FROM tenant.notifications"))
            assert (upd.rowcount, dele.rowcount) == (0, 0)
        assert (await tenant.sql("SELECT count(*) AS n FROM tenant.notifications WHERE read_at IS NULL"))[0].n == 2
