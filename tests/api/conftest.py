"""The real mesh for the OpenAPI conformance run (tests/api/test_openapi_conformance.py).

auth and tenant (wired both ways: JWKS + LookupUsers / ListMemberships) plus the service under
test run in this process on free ports, on their own event loop in a background thread, so the
synchronous schemathesis/Hypothesis test can call them over real HTTP while they serve. They use
the test's database, Redis prefix and NATS namespace (megacity.testing fixtures, `run_service`).

Callers are real accounts with real tokens from the real auth service: a zone admin (bootstrap
function + TOTP) creates an org and adds a teacher, an org admin and a student by email through
tenant's API; each logs in at auth (the org admin through TOTP). The service under test then gets
a few real rows (a class, roster records, a parent link, an item bank, an exam set for a class
its teacher is assigned to and an attempt, K-content, an upload and an AI job, a live classroom
session with a participant, a problem on show, a message and a moderation word) made through its
public API by those callers, whose ids the test mixes into generated path and query parameters so
that some requests hit real rows.
"""
from __future__ import annotations

import asyncio
import collections
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from megacity.db import make_engine, make_sessionmaker
from megacity.testing import TestDatabase, run_service
from megacity.zones import registry
from services.auth.tests.conftest import FAST_HASH, PASSWORD, totp_now
from services.exam.tests.conftest import logistic_item
from services.kzone.tests.media_samples import png

# The per-account limiter (300/min) would answer a quarter of the generated requests with 429 —
# documented, so they pass, but they cut the coverage of everything else. It has its own tests
# (tests/libs/test_rate_limit.py, tests/integration/test_school_nat.py).
NO_LIMITS = {"rate_limit_enabled": False}

ROLES = ("teacher", "org_admin", "student")
# Callers besides ROLES, per service: classroom's `participant` holds the participant token an
# anonymous join returns (students take part in a live session that way, not with their account).
EXTRA_ROLES = {"classroom": ("participant",)}
# Roles that get no 2xx from any token-guarded operation of a service, by design: classroom's
# token-guarded operations are staff's (sessions, problems, moderation) or the participant's.
NO_ACCESS = {"classroom": ("student",)}
# The zone each public service is exercised in (kzone serves the K-Zone domains). Left out: web,
# the pages service: its routes answer HTML page shells and their assets on www./app./admin.
# hosts (no JSON operation, no token-guarded one: every role's "some 2xx with its token" check
# could never hold); the pages are tested in a real browser (services/web/tests) and their
# routing through the edge in tests/integration/test_edge_routing.py.
SERVICE_ZONE = {"auth": "univ", "tenant": "univ", "exam": "univ", "kzone": "kzone", "classroom": "univ",
                "arena": "univ"}
STARTUP_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Caller:
    role: str
    email: str
    user_id: uuid.UUID
    token: str


@dataclass
class ApiMesh:
    """The running mesh as the test sees it: where the service under test listens, the Host to
    call it with, a real token per role and ids of real rows (by parameter name)."""

    service: str
    zone_key: str
    host: str
    base_url: str = ""
    callers: dict[str, Caller] = field(default_factory=dict)
    known_ids: dict[str, list[str]] = field(default_factory=dict)
    # What the run sent: (role, status) -> responses, and the operations it covered.
    answers: collections.Counter = field(default_factory=collections.Counter)
    operations: set[str] = field(default_factory=set)
    # Per role: 2xx answers from operations that need a token (they document 401).
    authorized: collections.Counter = field(default_factory=collections.Counter)

    @property
    def roles(self) -> tuple[str, ...]:
        """Every caller each generated request is sent as."""
        return ROLES + EXTRA_ROLES.get(self.service, ())

    @property
    def expected_access(self) -> tuple[str, ...]:
        """The callers that must get some 2xx from a token-guarded operation."""
        return tuple(r for r in self.roles if r not in NO_ACCESS.get(self.service, ()))

    def summary(self) -> str:
        lines = [f"{self.service}: {len(self.operations)} operations"]
        for role in self.roles:
            mine = {status: n for (r, status), n in self.answers.items() if r == role}
            statuses = " ".join(f"{status}:{n}" for status, n in sorted(mine.items()))
            lines.append(f"  {role}: {sum(mine.values())} requests, {self.authorized[role]} authorized 2xx ({statuses})")
        return "\n".join(lines)

    def headers(self, role: str) -> dict[str, str]:
        return {"Host": self.host, "Authorization": f"Bearer {self.callers[role].token}"}

    def remember(self, name: str, value: object) -> None:
        self.known_ids.setdefault(name, []).append(str(value))


class _MeshThread:
    """Runs the services and the seeding on an event loop in a daemon thread until `stop()`."""

    def __init__(self, mesh: ApiMesh, db: TestDatabase, namespace: str, object_root: Path) -> None:
        self.mesh, self.db, self.namespace, self.object_root = mesh, db, namespace, object_root
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"api-mesh-{mesh.service}", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT):
            self.stop()
            raise TimeoutError(f"the {self.mesh.service} mesh did not start in {STARTUP_TIMEOUT} s")
        if self._error is not None:
            raise RuntimeError(f"the {self.mesh.service} mesh failed to start") from self._error

    def stop(self) -> None:
        """Stop the services (draining) and raise what went wrong after they had started."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop has already closed: the thread is ending on its own
                pass
        self._thread.join(60)
        if self._thread.is_alive():
            raise TimeoutError(f"the {self.mesh.service} mesh did not stop in 60 s")
        if self._error is not None:
            raise RuntimeError(f"the {self.mesh.service} mesh failed") from self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test's thread by start() / stop()
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        service, ns = self.mesh.service, self.namespace
        auth_http, auth_grpc = _free_port(), _free_port()
        jwks = f"http://127.0.0.1:{auth_http}/.well-known/jwks.json"
        auth_engine = make_engine(self.db.app_url("auth"), pool_size=1)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(auth_engine.dispose)
            tenant = await stack.enter_async_context(run_service(
                "tenant", self.db, ns, grpc_peers={"auth": f"127.0.0.1:{auth_grpc}"}, jwks_url=jwks, **NO_LIMITS))
            auth = await stack.enter_async_context(run_service(
                "auth", self.db, ns, http_port=auth_http, grpc_port=auth_grpc,
                grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}, **FAST_HASH, **NO_LIMITS))
            target = {"auth": auth, "tenant": tenant}.get(service)
            if service == "exam":
                cat = await stack.enter_async_context(run_service("cat", None, ns))
                target = await stack.enter_async_context(run_service(
                    "exam", self.db, ns, jwks_url=jwks, expiry_sweep_seconds=3600,
                    grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}", "cat": f"127.0.0.1:{cat.grpc_port}",
                                "auth": f"127.0.0.1:{auth_grpc}"}, **NO_LIMITS))
            elif service == "kzone":
                target = await stack.enter_async_context(run_service(
                    "kzone", self.db, ns, jwks_url=jwks, object_backend="fs", object_root=str(self.object_root),
                    max_upload_bytes=64 * 1024, secret_key="kzone-api-test-secret-key", **NO_LIMITS))
            elif service == "classroom":
                # Teacher <-> class assignments come from tenant (ListTeacherClasses).
                target = await stack.enter_async_context(run_service(
                    "classroom", self.db, ns, jwks_url=jwks, secret_key="classroom-api-test-secret-key",
                    grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}, **NO_LIMITS))
            elif service == "arena":
                # Inference is not in this mesh: embeddings stay pending and LLM calls answer 503
                # (documented); they are tested with the real models in services/arena/tests.
                target = await stack.enter_async_context(run_service(
                    "arena", self.db, ns, jwks_url=jwks, grpc_peers={"inference": "127.0.0.1:1"}, **NO_LIMITS))
            assert target is not None, service
            self.mesh.base_url = f"http://127.0.0.1:{target.http_port}"
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{auth_http}", timeout=30) as a, \
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{tenant.http_port}", timeout=30) as t, \
                    httpx.AsyncClient(base_url=self.mesh.base_url, timeout=30) as s:
                seeder = _Seeder(self.mesh, a, t, s)
                await seeder.accounts(auth.app.state.auth.hasher, make_sessionmaker(auth_engine))
                await seeder.rows()
            self._ready.set()
            await self._stop.wait()
            if service == "tenant":
                await tenant.app.state.roster_imports.wait_idle(timeout=30)


class _Seeder:
    """Accounts, an org and a few rows, made through the services' public APIs."""

    def __init__(self, mesh: ApiMesh, auth: httpx.AsyncClient, tenant: httpx.AsyncClient,
                 target: httpx.AsyncClient) -> None:
        self.mesh, self.auth, self.tenant, self.target = mesh, auth, tenant, target
        self.host = {"Host": mesh.host}
        self.admin_token = ""
        self.org_id = ""

    async def ok(self, client: httpx.AsyncClient, method: str, path: str, token: str | None = None,
                 status: int = 200, **kw: Any) -> Any:
        headers = {**self.host, **({"Authorization": f"Bearer {token}"} if token else {})}
        resp = await client.request(method, path, headers=headers, **kw)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None

    async def _totp_login(self, email: str) -> dict[str, Any]:
        challenge = await self.ok(self.auth, "POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert challenge["mfa_required"] and challenge["enrollment_required"], challenge
        secret = (await self.ok(self.auth, "POST", "/api/v1/auth/mfa/totp/enroll",
                                json={"mfa_token": challenge["mfa_token"]}))["secret"]
        return await self.ok(self.auth, "POST", "/api/v1/auth/mfa/totp/verify",
                             json={"mfa_token": challenge["mfa_token"], "code": totp_now(secret)})

    async def _register(self, role: str) -> tuple[str, str]:
        email = f"{role.replace('_', '-')}-{uuid.uuid4().hex[:6]}@example.com"
        user = await self.ok(self.auth, "POST", "/api/v1/auth/register", status=201,
                             json={"email": email, "password": PASSWORD, "display_name": role.title()})
        await self.ok(self.tenant, "POST", f"/api/v1/orgs/{self.org_id}/members", self.admin_token, 201,
                      json={"email": email, "role": role})
        return email, user["id"]

    async def accounts(self, hasher: Any, auth_sessions: Any) -> None:
        from services.auth.admin import create_admin

        mesh = self.mesh
        admin_email = f"zone-admin-{uuid.uuid4().hex[:6]}@example.com"
        await create_admin(auth_sessions, hasher, zone_key=mesh.zone_key, email=admin_email, password=PASSWORD,
                           display_name="Zone Admin", role="zone_admin")
        self.admin_token = (await self._totp_login(admin_email))["access_token"]
        self.org_id = (await self.ok(self.tenant, "POST", "/api/v1/orgs", self.admin_token, 201,
                                     json={"name": "Schemathesis Academy"}))["id"]
        mesh.remember("org_id", self.org_id)
        for role in ROLES:
            email, user_id = await self._register(role)
            if role == "org_admin":
                tokens = await self._totp_login(email)
            else:
                tokens = await self.ok(self.auth, "POST", "/api/v1/auth/login",
                                       json={"email": email, "password": PASSWORD})
            assert (tokens["role"], tokens["org_id"]) == (role, self.org_id), tokens
            mesh.callers[role] = Caller(role, email, uuid.UUID(user_id), tokens["access_token"])
        # Members the generated requests may change or remove without touching the callers.
        _, spare_id = await self._register("student")
        mesh.remember("user_id", spare_id)
        mesh.remember("student_id", mesh.callers["student"].user_id)

    async def rows(self) -> None:
        await {"auth": self._auth_rows, "tenant": self._tenant_rows, "exam": self._exam_rows,
               "kzone": self._kzone_rows, "classroom": self._classroom_rows,
               "arena": self._arena_rows}[self.mesh.service]()

    async def _auth_rows(self) -> None:
        for caller in self.mesh.callers.values():
            self.mesh.remember("user_id", caller.user_id)

    async def _tenant_rows(self) -> None:
        mesh, admin = self.mesh, self.mesh.callers["org_admin"].token
        cls = await self.ok(self.tenant, "POST", "/api/v1/classes", admin, 201, json={"name": "1-A", "grade": 10})
        mesh.remember("class_id", cls["id"])
        student = await self.ok(self.tenant, "POST", "/api/v1/rosters/students", admin, 201,
                                json={"name": "Kim Minji", "grade": 10, "parent_phone": "010-1234-5678",
                                      "class_id": cls["id"]})
        mesh.remember("student_id", student["id"])
        for kind in ("teachers", "parents"):
            person = await self.ok(self.tenant, "POST", f"/api/v1/rosters/{kind}", admin, 201, json={"name": "Lee"})
            mesh.remember("person_id", person["id"])
        parent_email, _ = await self._register("parent")
        parent = await self.ok(self.auth, "POST", "/api/v1/auth/login",
                               json={"email": parent_email, "password": PASSWORD})
        link = await self.ok(self.tenant, "POST", "/api/v1/parent-links", parent["access_token"], 201,
                             json={"student_email": mesh.callers["student"].email})
        mesh.remember("link_id", link["id"])

    async def _exam_rows(self) -> None:
        mesh, teacher = self.mesh, self.mesh.callers["teacher"].token
        # A class in tenant with the teacher assigned and the student on its roster: a teacher sees
        # only its classes' attempts and students (dashboard, attempt lists, reports).
        admin = mesh.callers["org_admin"].token
        cls = await self.ok(self.tenant, "POST", "/api/v1/classes", admin, 201, json={"name": "1-A", "grade": 10})
        mesh.remember("class_id", cls["id"])
        await self.ok(self.tenant, "PUT", f"/api/v1/classes/{cls['id']}/teachers/{mesh.callers['teacher'].user_id}",
                      admin, 201)
        await self.ok(self.tenant, "POST", "/api/v1/rosters/students", admin, 201,
                      json={"name": "Kim Minji", "grade": 10, "parent_phone": "010-1234-5678", "class_id": cls["id"],
                            "user_id": str(mesh.callers["student"].user_id)})
        bank = await self.ok(self.target, "POST", "/api/v1/items/banks", teacher, 201, json={"name": "Algebra"})
        mesh.remember("bank_id", bank["id"])
        items = [await self.ok(self.target, "POST", "/api/v1/items", teacher, 201,
                               json={"bank_id": bank["id"], **logistic_item(f"Q{k:03d}", -1.0 + k)})
                 for k in range(3)]
        for item in items:
            mesh.remember("item_id", item["id"])
        exam = await self.ok(self.target, "POST", "/api/v1/exams", teacher, 201,
                             json={"title": "Fixed exam", "kind": "fixed", "item_bank_id": bank["id"],
                                   "item_ids": [i["id"] for i in items], "class_id": cls["id"]})
        await self.ok(self.target, "POST", f"/api/v1/exams/{exam['id']}/publish", teacher)
        mesh.remember("exam_id", exam["id"])
        attempt = await self.ok(self.target, "POST", f"/api/v1/exams/{exam['id']}/start",
                                mesh.callers["student"].token, 201)
        mesh.remember("attempt_id", attempt["id"])

    async def _kzone_rows(self) -> None:
        mesh, teacher = self.mesh, self.mesh.callers["teacher"].token
        media = await self.ok(self.target, "POST", "/api/v1/kzone/uploads", teacher, 201,
                              files={"file": ("cover.png", png(), "image/png")})
        mesh.remember("media_id", media["id"])
        mesh.remember("key", media["key"])
        content = await self.ok(self.target, "POST", "/api/v1/kzone/contents", teacher, 201,
                                json={"title": "Greetings", "type": "image", "media_id": media["id"]})
        mesh.remember("content_id", content["id"])
        job = await self.ok(self.target, "POST", "/api/v1/kzone/tutor/feedback", mesh.callers["student"].token, 202,
                            json={"question": "How do you say hello?", "answer": "Annyeonghaseyo"})
        mesh.remember("job_id", job["job_id"])

    async def _classroom_rows(self) -> None:
        """A class the teacher is assigned to (tenant), a live session for it with one participant,
        a problem on show as card 1, a teacher message and an org moderation word."""
        mesh, teacher = self.mesh, self.mesh.callers["teacher"].token
        admin = mesh.callers["org_admin"].token
        cls = await self.ok(self.tenant, "POST", "/api/v1/classes", admin, 201, json={"name": "5-A", "grade": 5})
        mesh.remember("class_id", cls["id"])
        await self.ok(self.tenant, "PUT", f"/api/v1/classes/{cls['id']}/teachers/{mesh.callers['teacher'].user_id}",
                      admin, 201)
        session = await self.ok(self.target, "POST", "/api/v1/classroom/sessions", teacher, 201,
                                json={"class_id": cls["id"], "title": "Fractions"})
        mesh.remember("session_id", session["id"])
        mesh.remember("code", session["code"])
        problem = await self.ok(self.target, "POST", "/api/v1/classroom/problems", teacher, 201,
                                json={"class_id": cls["id"], "type": "math", "difficulty": 2, "grade": 5,
                                      "prompt": "1/2 + 1/4 = ?", "answer": "3/4"})
        mesh.remember("problem_id", problem["id"])
        seat = await self.ok(self.target, "POST", f"/api/v1/classroom/join/{session['code']}", status=201,
                             json={"nickname": "Minji", "avatar": "fox"})
        mesh.remember("participant_id", seat["participant_id"])
        mesh.callers["participant"] = Caller("participant", "", uuid.UUID(seat["participant_id"]), seat["token"])
        await self.ok(self.target, "POST", f"/api/v1/classroom/sessions/{session['id']}/cards", teacher, 201,
                      json={"problem_id": problem["id"]})
        mesh.remember("card_no", 1)
        message = await self.ok(self.target, "POST", f"/api/v1/classroom/sessions/{session['id']}/messages",
                                teacher, 201, json={"body": "Welcome, class!"})
        mesh.remember("message_id", message["id"])
        await self.ok(self.target, "PUT", "/api/v1/classroom/moderation/words/bananas", admin, 201,
                      json={"lang": "en", "kind": "block"})
        mesh.remember("word", "bananas")

    async def _arena_rows(self) -> None:
        """Every caller's arena profile, a category and an org question by the teacher, the
        student's practice match (so match, round and question ids are real)."""
        mesh = self.mesh
        teacher, student = mesh.callers["teacher"].token, mesh.callers["student"].token
        for caller in mesh.callers.values():
            await self.ok(self.target, "GET", "/api/v1/arena/me", caller.token)
            mesh.remember("user_id", caller.user_id)
        category = await self.ok(self.target, "POST", "/api/v1/arena/categories", teacher, 201,
                                 json={"name": "Arithmetic"})
        mesh.remember("category_id", category["id"])
        for i in range(8):
            question = await self.ok(self.target, "POST", "/api/v1/arena/questions", teacher, 201, json={
                "type": "short", "content": f"What is {i} + {i + 3}?", "answer": str(2 * i + 3),
                "category_ids": [category["id"]]})
            mesh.remember("question_id", question["id"])
        match = await self.ok(self.target, "POST", "/api/v1/arena/matches/practice", student, 201, json={})
        mesh.remember("match_id", match["id"])
        mesh.remember("round_no", 1)
        mesh.remember("board", "all-time")


@pytest.fixture(params=sorted(SERVICE_ZONE))
def api_mesh(request: pytest.FixtureRequest, test_db: TestDatabase, namespace: str, tmp_path: Path
             ) -> Iterator[ApiMesh]:
    """One public service (and what it needs) running with real callers and rows; see the module doc."""
    service = request.param
    zone_key = SERVICE_ZONE[service]
    mesh = ApiMesh(service, zone_key, f"api.{registry().zone(zone_key).domains[0]}")
    runner = _MeshThread(mesh, test_db, namespace, tmp_path / "objects")
    runner.start()
    try:
        yield mesh
    finally:
        runner.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # schemathesis 4.32's lazy schemas read and rename `Node._nodeid`, which pytest 9 dropped
    # (node ids live in `Node._id` now); give its test the attribute it expects.
    if not hasattr(item, "_nodeid"):
        item._nodeid = item.nodeid  # type: ignore[attr-defined]
