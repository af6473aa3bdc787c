"""Classroom test fixtures: the real classroom service and the real tenant service (teacher↔class
assignments come from tenant over gRPC) in-process on free ports, a throwaway database, the
test's Redis prefix and NATS namespace, tokens from a test mint, real WebSocket clients."""
from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.testing import TestDatabase, TokenMint, run_service

ZONE = 1
HOST = "api.univprepai.com"
KEEPALIVE = httpx.Limits(keepalive_expiry=2.0)  # under uvicorn's 5 s idle timeout
OTHER_ZONE_HOST = "api.collegeprepai.com"


@dataclass
class Actor:
    role: str
    org_id: uuid.UUID | None
    token: str
    user_id: uuid.UUID
    host: str = HOST

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Host": self.host}


@dataclass
class School:
    """An org in tenant with an org admin, a teacher assigned to `class_id`, and `other_class`
    that the teacher does not teach."""

    org: uuid.UUID
    admin: Actor
    teacher: Actor
    class_id: str
    other_class: str


@dataclass
class ClassroomApp:
    runtime: Any
    client: httpx.AsyncClient
    mint: TokenMint
    db: TestDatabase
    tenant: Any
    tenant_client: httpx.AsyncClient
    org_a: uuid.UUID = field(default_factory=uuid.uuid4)
    org_b: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def port(self) -> int:
        return int(self.runtime.http_port)

    def actor(self, role: str, org: uuid.UUID | None = None, *, user_id: uuid.UUID | None = None,
              zone_id: int = ZONE, host: str = HOST) -> Actor:
        user_id = user_id or uuid.uuid4()
        org = org if org is not None or role in ("zone_admin", "super_admin") else self.org_a
        return Actor(role, org, self.mint.token(zone_id=zone_id, role=role, org_id=org, user_id=user_id), user_id,
                     host)

    async def call(self, method: str, path: str, who: Actor | None = None, *, host: str = HOST,
                   **kw: Any) -> httpx.Response:
        headers = dict(who.headers) if who else {"Host": host}
        headers.update(kw.pop("headers", {}))
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, who: Actor | None = None, status: int = 200, **kw: Any) -> Any:
        resp = await self.call(method, path, who, **kw)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content and resp.headers.get("content-type", "").endswith("json") else resp

    async def school(self, org: uuid.UUID | None = None) -> School:
        """The org in tenant, its admin and teacher (memberships), two classes, the teacher
        assigned to the first (through tenant's API)."""
        org = org or self.org_a
        engine = make_engine(self.db.app_url("tenant"), pool_size=1)
        try:
            async with tenant_transaction(make_sessionmaker(engine), TenantContext(ZONE, role="super_admin")) as s:
                await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, :z, :n)"
                                     " ON CONFLICT DO NOTHING"), {"id": org, "z": ZONE, "n": f"School {org.hex[:6]}"})
        finally:
            await engine.dispose()
        admin, teacher = self.actor("org_admin", org), self.actor("teacher", org)
        for who in (admin, teacher):
            await self.db.sql("INSERT INTO tenant.memberships (zone_id, org_id, user_id, role) VALUES (:z, :o, :u, :r)",
                              z=ZONE, o=org, u=who.user_id, r=who.role)

        async def tenant_ok(method: str, path: str, status: int = 200, **kw: Any) -> Any:
            resp = await self.tenant_client.request(method, path, headers=admin.headers, **kw)
            assert resp.status_code == status, resp.text
            return resp.json() if resp.content else None

        class_id = (await tenant_ok("POST", "/api/v1/classes", 201, json={"grade": 5, "name": "5-A"}))["id"]
        other = (await tenant_ok("POST", "/api/v1/classes", 201, json={"grade": 5, "name": "5-B"}))["id"]
        await tenant_ok("PUT", f"/api/v1/classes/{class_id}/teachers/{teacher.user_id}", 201)
        return School(org, admin, teacher, class_id, other)

    async def move_clock(self, session_id: str, assignments: str) -> None:
        """Rewrite a session's times in the database (`SET <assignments>`, as the superuser) and
        republish its live state, as the service does after every change it makes itself."""
        from services.classroom.sessions import queries, service

        await self.db.sql(f"UPDATE classroom.sessions SET {assignments} WHERE id = CAST(:id AS uuid)", id=session_id)
        async with tenant_transaction(self.runtime.resources.db(), TenantContext(ZONE, role="zone_admin")) as s:
            row = await queries.get(s, uuid.UUID(session_id))
        assert row is not None
        await service.publish_state(self.runtime.resources, row)

    def ws_url(self, code: str) -> str:
        return f"ws://{HOST}:{self.port}/api/v1/classroom/sessions/{code}/ws"

    @contextlib.asynccontextmanager
    async def socket(self, code: str, token: str, last_seq: int | None = None,
                     port: int | None = None) -> AsyncIterator[LiveClient]:
        """A real WebSocket to the service (TCP to 127.0.0.1, Host = the zone's api host), said hello."""
        port = port or self.port
        async with connect(f"ws://{HOST}:{port}/api/v1/classroom/sessions/{code}/ws", host="127.0.0.1",
                           port=port, open_timeout=10, max_queue=None) as ws:
            client = LiveClient(ws)
            await client.send("hello", {"token": token, "last_seq": last_seq})
            yield client


def conforms(frame: dict[str, Any]) -> None:
    """Every frame a test receives is checked against the protocol models (live/schemas.py)."""
    from services.classroom.live.schemas import SERVER_FRAMES

    assert frame.get("v") == 1 and frame.get("type") in SERVER_FRAMES, frame
    SERVER_FRAMES[frame["type"]][0].model_validate(frame["data"])


@dataclass
class LiveClient:
    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, type_: str, data: dict[str, Any] | None = None, ref: str | None = None) -> None:
        frame: dict[str, Any] = {"type": type_, "data": data or {}}
        if ref:
            frame["ref"] = ref
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        import asyncio

        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        conforms(frame)
        self.frames.append(frame)
        return frame

    async def until(self, type_: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The next frame of `type_` (whose data has `match`), skipping others."""
        import asyncio

        async def wait() -> dict[str, Any]:
            while True:
                frame = await self.recv(timeout)
                if frame.get("type") == type_ and all(frame.get("data", {}).get(k) == v for k, v in match.items()):
                    return frame

        return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def classroom(test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> AsyncIterator[ClassroomApp]:
    async with contextlib.AsyncExitStack() as es:
        tenant = await es.enter_async_context(run_service("tenant", test_db, namespace))
        rt = await es.enter_async_context(run_service(
            "classroom", test_db, namespace, secret_key="classroom-test-secret-key",
            grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}))
        for r in (tenant, rt):
            token_mint.install(r.app)
        tc = await es.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{tenant.http_port}",
                                                            limits=KEEPALIVE,
                                                            timeout=30, headers={"Host": HOST}))
        # uvicorn closes an idle keep-alive connection after 5 s; a client that reuses one at that
        # moment reads a reset (httpx.ReadError on a POST it cannot retry). Expire them sooner.
        cc = await es.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=30,
                                                            limits=KEEPALIVE))
        yield ClassroomApp(rt, cc, token_mint, test_db, tenant, tc)
