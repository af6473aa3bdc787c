"""Auth's permission-gated endpoints across two zones × two orgs × the seven roles: only what
the permission map allows succeeds, everything else is 403 and changes nothing."""
from __future__ import annotations

import uuid

from megacity.auth.permissions import ROLES
from megacity.auth.tokens import issue_access_token
from services.auth.tests.conftest import bearer

ADMINS = {"zone_admin", "super_admin"}


async def test_admin_endpoints_matrix(env) -> None:
    target = await env.register("target@example.com")  # a zone-1 user whose platform role is at stake
    await env.user("zone2@example.com", zone_id=2)  # zone-2 activity in the audit log
    key = await env.auth.app.state.auth.keyring.active()
    orgs = {1: [uuid.uuid4(), uuid.uuid4()], 2: [uuid.uuid4(), uuid.uuid4()]}
    tried = 0
    for zone_id in (1, 2):
        for org_id in orgs[zone_id]:
            for role in ROLES:
                org = None if role in ADMINS or role == "guest" else org_id
                token, _ = issue_access_token(key, user_id=uuid.uuid4(), zone_id=zone_id, org_id=org, role=role)
                allowed = role in ADMINS and zone_id == 1
                logs = await env.client.get("/api/v1/admin/audit-logs", params={"limit": 200},
                                            headers=bearer(token, 1))
                grant = await env.client.put(f"/api/v1/users/{target}/platform-role", json={"role": "zone_admin"},
                                             headers=bearer(token, 1))
                if allowed:
                    assert logs.status_code == 200, (zone_id, role, logs.text)
                    assert {e["zone_id"] for e in logs.json()["items"]} == {1}
                    assert grant.status_code == 204, (zone_id, role, grant.text)
                    revert = await env.client.put(f"/api/v1/users/{target}/platform-role", json={"role": None},
                                                  headers=bearer(token, 1))
                    assert revert.status_code == 204
                else:
                    expected = "auth.permission_denied" if zone_id == 1 else "auth.zone_mismatch"
                    assert (logs.status_code, logs.json()["code"]) == (403, expected), (zone_id, role)
                    assert (grant.status_code, grant.json()["code"]) == (403, expected), (zone_id, role)
                row = (await env.auth_sql("SELECT platform_role FROM auth.users WHERE id = :u", u=target))[0]
                assert row.platform_role is None, (zone_id, role)
                tried += 1
    assert tried == 2 * 2 * 7
    # every denial inside zone 1 was audited
    denied = await env.auth_sql("SELECT count(*) AS n FROM auth.audit_logs WHERE zone_id = 1"
                                " AND action = 'auth.permission_denied'")
    assert denied[0].n == 2 * 5 * 2  # two orgs × five non-admin roles × two endpoints


async def test_admins_of_one_zone_cannot_reach_another_zones_users(env) -> None:
    """Issue #9: a super admin or zone admin of zone 1, on zone 1's host, naming a zone-2 user
    finds no such user and changes nothing; zone 2's own super admin reaches it on zone 2's host."""
    other = await env.register("elsewhere@example.com", zone_id=2)
    key = await env.auth.app.state.auth.keyring.active()
    for role in ("super_admin", "zone_admin"):
        token, _ = issue_access_token(key, user_id=uuid.uuid4(), zone_id=1, org_id=None, role=role)
        grant = await env.client.put(f"/api/v1/users/{other}/platform-role", json={"role": "zone_admin"},
                                     headers=bearer(token, 1))
        assert grant.status_code == 404, (role, grant.text)
        logs = await env.client.get("/api/v1/admin/audit-logs", params={"user_id": str(other)}, headers=bearer(token, 1))
        assert logs.status_code == 200 and logs.json()["items"] == [], (role, logs.text)
    row = (await env.auth_sql("SELECT platform_role FROM auth.users WHERE id = :u", u=other))[0]
    assert row.platform_role is None
    token, _ = issue_access_token(key, user_id=uuid.uuid4(), zone_id=2, org_id=None, role="super_admin")
    logs = await env.client.get("/api/v1/admin/audit-logs", params={"user_id": str(other)}, headers=bearer(token, 2))
    assert logs.status_code == 200 and logs.json()["items"], logs.text
