"""Orgs and memberships over HTTP, their outbox events, and ListMemberships over gRPC."""
from __future__ import annotations

import json
import uuid

import grpc

from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc


async def _events(tenant, prefix: str) -> list[tuple[str, dict]]:
    rows = await tenant.sql("SELECT event_type, payload FROM tenant.outbox WHERE event_type LIKE :p ORDER BY id",
                            p=prefix + "%")
    return [(r.event_type, r.payload if isinstance(r.payload, dict) else json.loads(r.payload)) for r in rows]


async def test_zone_admin_creates_and_lists_orgs_org_admin_renames_own(tenant) -> None:
    za = tenant.actor(1, "zone_admin")
    resp = await tenant.client.post("/api/v1/orgs", json={"name": "Seoul Science", "plan": "standard"},
                                    headers=za.headers)
    assert resp.status_code == 201, resp.text
    org = resp.json()
    assert org["zone_id"] == 1 and org["status"] == "active"
    other_zone = await tenant.make_org(2, "Busan")
    listed = (await tenant.client.get("/api/v1/orgs", headers=za.headers)).json()
    assert [o["id"] for o in listed["items"]] == [org["id"]] and str(other_zone) not in str(listed)

    oa = tenant.actor(1, "org_admin", uuid.UUID(org["id"]))
    resp = await tenant.client.patch(f"/api/v1/orgs/{org['id']}", json={"name": "Seoul Science HS"},
                                     headers=oa.headers)
    assert resp.status_code == 200 and resp.json()["name"] == "Seoul Science HS"
    # Plan and status are zone-level decisions.
    resp = await tenant.client.patch(f"/api/v1/orgs/{org['id']}", json={"status": "suspended"}, headers=oa.headers)
    assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"
    resp = await tenant.client.patch(f"/api/v1/orgs/{org['id']}", json={"status": "suspended"}, headers=za.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "suspended"
    # Bad input is a problem-JSON 4xx.
    resp = await tenant.client.post("/api/v1/orgs", json={"name": ""}, headers=za.headers)
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"
    resp = await tenant.client.patch(f"/api/v1/orgs/{org['id']}", json={}, headers=za.headers)
    assert resp.status_code == 400 and resp.json()["code"] == "org.empty_update"
    kinds = [e for e, _ in await _events(tenant, "org.")]
    assert kinds == ["org.created", "org.updated", "org.updated"]


async def test_membership_lifecycle_events_and_list_memberships(tenant) -> None:
    org = await tenant.make_org(1)
    other = await tenant.make_org(1)
    oa = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, oa.user_id, "org_admin")
    teacher = tenant.auth.add(1, "Kim.Teacher@example.com", "Kim")
    tenant.auth.add(2, "someone@example.com")
    base = f"/api/v1/orgs/{org}/members"

    resp = await tenant.client.post(base, json={"email": "kim.teacher@example.com", "role": "teacher"},
                                    headers=oa.headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["user_id"] == str(teacher)
    resp = await tenant.client.post(base, json={"user_id": str(teacher), "role": "student"}, headers=oa.headers)
    assert resp.status_code == 409 and resp.json()["code"] == "member.exists"
    # A user of another zone is not found here.
    resp = await tenant.client.post(base, json={"email": "someone@example.com", "role": "student"}, headers=oa.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "member.user_not_found"
    resp = await tenant.client.post(base, json={"email": "x@example.com", "user_id": str(teacher), "role": "student"},
                                    headers=oa.headers)
    assert resp.status_code == 422
    resp = await tenant.client.post(base, json={"email": "kim.teacher@example.com", "role": "zone_admin"},
                                    headers=oa.headers)
    assert resp.status_code == 422

    resp = await tenant.client.patch(f"{base}/{teacher}", json={"role": "org_admin"}, headers=oa.headers)
    assert resp.status_code == 200 and resp.json()["role"] == "org_admin"
    members = (await tenant.client.get(base, headers=oa.headers)).json()
    assert members["total"] == 2

    # gRPC: what auth asks at login.
    async with grpc.aio.insecure_channel(tenant.grpc_target) as ch:
        stub = tenant_pb2_grpc.TenantServiceStub(ch)
        await tenant.add_member(1, other, teacher, "teacher")
        reply = await stub.ListMemberships(tenant_pb2.ListMembershipsRequest(zone_id=1, user_id=str(teacher)))
        assert {(m.org_id, m.role) for m in reply.memberships} == {(str(org), "org_admin"), (str(other), "teacher")}
        reply = await stub.ListMemberships(tenant_pb2.ListMembershipsRequest(zone_id=2, user_id=str(teacher)))
        assert list(reply.memberships) == []
        try:
            await stub.ListMemberships(tenant_pb2.ListMembershipsRequest(zone_id=1, user_id="nope"))
            raise AssertionError("expected INVALID_ARGUMENT")
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT

    # Removing: the last org admin stays.
    resp = await tenant.client.delete(f"{base}/{teacher}", headers=oa.headers)
    assert resp.status_code == 204
    resp = await tenant.client.delete(f"{base}/{oa.user_id}", headers=oa.headers)
    assert resp.status_code == 409 and resp.json()["code"] == "member.last_admin"
    resp = await tenant.client.delete(f"{base}/{teacher}", headers=oa.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "member.not_found"

    events = await _events(tenant, "member.")
    assert events == [
        ("member.added", {"user_id": str(teacher), "org_id": str(org), "role": "teacher", "previous_role": None}),
        ("member.role_changed", {"user_id": str(teacher), "org_id": str(org), "role": "org_admin",
                                 "previous_role": "teacher"}),
        ("member.removed", {"user_id": str(teacher), "org_id": str(org), "role": None, "previous_role": "org_admin"}),
    ]


async def test_auth_down_is_503_not_500(tenant) -> None:
    org = await tenant.make_org(1)
    oa = tenant.actor(1, "org_admin", org)
    tenant.runtime.resources._channels.clear()
    tenant.runtime.resources.settings.grpc_peers["auth"] = "127.0.0.1:1"
    resp = await tenant.client.post(f"/api/v1/orgs/{org}/members", json={"email": "a@example.com", "role": "student"},
                                    headers=oa.headers)
    assert resp.status_code == 503 and resp.json()["code"] == "dependency.auth_unavailable"
    assert await tenant.sql("SELECT 1 FROM tenant.memberships") == []


async def test_get_org_over_grpc(tenant) -> None:
    """What other services ask: the org's fields in its zone; another zone's org is NOT_FOUND."""
    za = tenant.actor(1, "zone_admin")
    created = (await tenant.client.post("/api/v1/orgs", json={"name": "Daegu Prep", "plan": "standard"},
                                        headers=za.headers)).json()
    resp = await tenant.client.patch(f"/api/v1/orgs/{created['id']}", json={"status": "suspended"}, headers=za.headers)
    assert resp.status_code == 200, resp.text
    busan = await tenant.make_org(2, "Busan")
    async with grpc.aio.insecure_channel(tenant.grpc_target) as ch:
        stub = tenant_pb2_grpc.TenantServiceStub(ch)
        org = await stub.GetOrg(tenant_pb2.GetOrgRequest(zone_id=1, org_id=created["id"]))
        assert (org.id, org.zone_id, org.name, org.plan, org.status) == (
            created["id"], 1, "Daegu Prep", "standard", "suspended")
        org = await stub.GetOrg(tenant_pb2.GetOrgRequest(zone_id=2, org_id=str(busan)))
        assert (org.id, org.zone_id, org.name, org.plan, org.status) == (str(busan), 2, "Busan", "free", "active")
        for request, status in ((tenant_pb2.GetOrgRequest(zone_id=1, org_id=str(busan)), grpc.StatusCode.NOT_FOUND),
                                (tenant_pb2.GetOrgRequest(zone_id=1, org_id=str(uuid.uuid4())),
                                 grpc.StatusCode.NOT_FOUND),
                                (tenant_pb2.GetOrgRequest(zone_id=99, org_id=created["id"]), grpc.StatusCode.NOT_FOUND),
                                (tenant_pb2.GetOrgRequest(zone_id=1, org_id="nope"), grpc.StatusCode.INVALID_ARGUMENT)):
            try:
                await stub.GetOrg(request)
                raise AssertionError(f"expected {status}")
            except grpc.aio.AioRpcError as err:
                assert err.code() == status, request
