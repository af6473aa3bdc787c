"""End to end through the real local edge (Traefik from the registry) with the real tenant, CAT
and exam services: org, members and the parent link are made through tenant's API, a student
of org A takes an adaptive exam, and the result is visible to exactly the right people — the
student, a teacher of the student's class, a parent with an approved link — and to no parent without one
and nobody of org B."""
from __future__ import annotations

import contextlib
import socket
import uuid
from typing import Any

import grpc
import httpx

from gateway.local_edge import EdgeConfig, LocalEdge
from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
from megacity.testing import run_service
from services.exam.tests.conftest import CatServer, logistic_item

HOST = "api.univprepai.com"
ZONE = 1


class FakeAuth(auth_pb2_grpc.AuthServiceServicer):
    """Auth's LookupUsers (tenant finds users by email) over real gRPC, from a fixed user list."""

    def __init__(self) -> None:
        self.users: dict[str, auth_pb2.User] = {}

    def add(self, email: str) -> uuid.UUID:
        user_id = uuid.uuid4()
        self.users[str(user_id)] = auth_pb2.User(id=str(user_id), zone_id=ZONE, email=email, display_name=email)
        return user_id

    async def LookupUsers(self, request, context):  # noqa: N802 - gRPC method name
        emails, ids = {e.lower() for e in request.emails}, set(request.user_ids)
        return auth_pb2.UserList(users=[u for u in self.users.values() if u.zone_id == request.zone_id
                                        and (u.email in emails or u.id in ids)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Person:
    def __init__(self, mint, role: str, org: uuid.UUID | None, user_id: uuid.UUID | None = None) -> None:
        self.role, self.org, self.user_id = role, org, user_id or uuid.uuid4()
        self.token = mint.token(zone_id=ZONE, role=role, org_id=org, user_id=self.user_id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Host": HOST}


async def test_adaptive_exam_through_the_edge_reaches_the_right_people(test_db, namespace, token_mint, tmp_path) -> None:
    auth = FakeAuth()
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, server)
    auth_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    cat = CatServer(namespace)
    await cat.start()
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(server.stop, 0)
        stack.push_async_callback(cat.stop)
        tenant = await stack.enter_async_context(run_service(
            "tenant", test_db, namespace, grpc_peers={"auth": f"127.0.0.1:{auth_port}"}))
        exam = await stack.enter_async_context(run_service(
            "exam", test_db, namespace, expiry_sweep_seconds=3600,
            grpc_peers={"cat": cat.target, "tenant": f"127.0.0.1:{tenant.grpc_port}"}))
        for rt in (tenant, exam):
            token_mint.install(rt.app)
        cfg = EdgeConfig(listen_port=_free_port(), rate_limits=False,
                         upstreams={"tenant": f"127.0.0.1:{tenant.http_port}", "exam": f"127.0.0.1:{exam.http_port}"})
        edge = stack.enter_context(LocalEdge(cfg, tmp_path / "edge"))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=edge.url, timeout=30))

        async def ok(method: str, path: str, who: Person, status: int = 200, **kw: Any) -> Any:
            resp = await client.request(method, path, headers=who.headers, **kw)
            assert resp.status_code == status, (who.role, method, path, resp.status_code, resp.text)
            return resp.json()

        # Orgs and members, through tenant's API.
        zone_admin = Person(token_mint, "zone_admin", None)
        org_a = uuid.UUID((await ok("POST", "/api/v1/orgs", zone_admin, 201, json={"name": "Org A"}))["id"])
        org_b = uuid.UUID((await ok("POST", "/api/v1/orgs", zone_admin, 201, json={"name": "Org B"}))["id"])
        people: dict[str, Person] = {}
        for key, role, org in [("admin", "org_admin", org_a), ("teacher", "teacher", org_a), ("student", "student", org_a),
                               ("parent", "parent", org_a), ("stranger_parent", "parent", org_a),
                               ("b_teacher", "teacher", org_b), ("b_student", "student", org_b),
                               ("b_parent", "parent", org_b)]:
            email = f"{key}@example.com"
            user_id = auth.add(email)
            await ok("POST", f"/api/v1/orgs/{org}/members", zone_admin, 201, json={"email": email, "role": role})
            people[key] = Person(token_mint, role, org, user_id)
        teacher, student, parent = people["teacher"], people["student"], people["parent"]

        # The parent asks to be linked; the student approves (tenant owns the link).
        link = await ok("POST", "/api/v1/parent-links", parent, 201, json={"student_email": "student@example.com"})
        approved = await ok("POST", f"/api/v1/parent-links/{link['id']}/approve", student)
        assert approved["status"] == "approved"
        # Org B's parent asks for org A's student: not a student of its org.
        resp = await client.post("/api/v1/parent-links", headers=people["b_parent"].headers,
                                 json={"student_email": "student@example.com"})
        assert resp.status_code == 404

        # The teacher builds an adaptive exam.
        bank = await ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Placement bank"})
        items = {}
        for k in range(24):
            item = await ok("POST", "/api/v1/items", teacher, 201, json={
                "bank_id": bank["id"], **logistic_item(f"E{k:02d}", -2 + 4 * k / 23, a=1.0 + (k % 3) * 0.4)})
            items[item["id"]] = item
        # Its class, made by the org admin in tenant, with the teacher assigned and the student on
        # its roster (a teacher sees only its classes' attempts and students).
        class_id = (await ok("POST", "/api/v1/classes", people["admin"], 201, json={"grade": 7, "name": "7-A"}))["id"]
        await ok("PUT", f"/api/v1/classes/{class_id}/teachers/{teacher.user_id}", people["admin"], 201)
        await ok("POST", "/api/v1/rosters/students", people["admin"], 201, json={
            "name": "Student", "grade": 7, "parent_phone": "010-1234-5678", "class_id": class_id,
            "user_id": str(student.user_id)})
        ex = await ok("POST", "/api/v1/exams", teacher, 201, json={
            "title": "Placement", "kind": "adaptive", "item_bank_id": bank["id"], "class_id": class_id,
            "time_limit_seconds": 1200, "cat_settings": {"min_items": 6, "max_items": 6}})
        resp = await client.post(f"/api/v1/exams/{ex['id']}/publish", headers=teacher.headers)
        assert resp.status_code == 200 and resp.headers["x-served-by"] == "exam" and resp.headers["x-zone"] == "univ"

        # The student takes it.
        att = await ok("POST", f"/api/v1/exams/{ex['id']}/start", student, 201)
        current = att["current_item"]
        while current is not None:
            item = items[current["id"]]
            ack = await ok("POST", f"/api/v1/attempts/{att['id']}/responses", student, 201,
                           json={"item_id": item["id"], "answer": "B" if item["b"] < 0 else "A"})
            current = ack["next_item"]
        assert ack["status"] == "completed" and ack["answered"] == 6
        theta = ack["result"]["theta"]

        report_path = f"/api/v1/students/{student.user_id}/reports"
        for who in (student, teacher, parent):
            report = await ok("GET", report_path, who)
            assert [a["attempt_id"] for a in report["attempts"]] == [att["id"]], who.role
            assert report["attempts"][0]["theta"] == theta and report["summary"]["completed"] == 1
            assert (await ok("GET", f"/api/v1/attempts/{att['id']}", who))["result"]["theta"] == theta
        dash = await ok("GET", f"/api/v1/analytics/dashboard?exam_id={ex['id']}", teacher)
        assert dash["totals"]["completed"] == 1 and dash["classes"][0]["class_id"] == class_id
        assert dash["classes"][0]["mean_theta"] == round(theta, 4) and len(dash["items"]) == 6

        # A parent without an approved link, and everyone of org B, see nothing.
        resp = await client.get(report_path, headers=people["stranger_parent"].headers)
        assert resp.status_code == 403 and resp.json()["code"] == "parent_link.required"
        resp = await client.get(f"/api/v1/attempts/{att['id']}", headers=people["stranger_parent"].headers)
        assert resp.status_code == 403
        for key in ("b_teacher", "b_student", "b_parent"):
            resp = await client.get(report_path, headers=people[key].headers)
            assert resp.status_code in (200, 403), resp.text
            assert resp.status_code == 403 or resp.json()["attempts"] == [], key
            resp = await client.get(f"/api/v1/attempts/{att['id']}", headers=people[key].headers)
            assert resp.status_code in (403, 404) and "result" not in resp.json(), key
        b_dash = await ok("GET", "/api/v1/analytics/dashboard", people["b_teacher"])
        assert b_dash["totals"]["attempts"] == 0 and b_dash["items"] == []
        resp = await client.get("/api/v1/analytics/dashboard", headers=parent.headers)
        assert resp.status_code == 403 and resp.json()["code"] == "analytics.forbidden"

        # Revoking the link takes effect at once (tenant is asked on every request).
        await ok("POST", f"/api/v1/parent-links/{link['id']}/revoke", student)
        resp = await client.get(report_path, headers=parent.headers)
        assert resp.status_code == 403 and resp.json()["code"] == "parent_link.required"
