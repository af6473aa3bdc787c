"""Fixtures for the exam service tests: the real service (run_service) on a per-test database,
Redis prefix and NATS namespace; tokens from the test mint; CAT and tenant as real services
when a test needs them."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from megacity.testing import TestDatabase, TokenMint, run_service

ZONE_A = 1
HOSTS = {1: "api.univprepai.com", 2: "api.collegeprepai.com"}


@dataclass
class Actor:
    role: str
    org_id: uuid.UUID | None
    token: str
    user_id: uuid.UUID
    zone_id: int = ZONE_A

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Host": HOSTS[self.zone_id]}


@dataclass
class ExamApp:
    """The running exam service, a client for it and a way to mint callers."""

    runtime: Any
    client: httpx.AsyncClient
    mint: TokenMint
    db: TestDatabase
    org_a: uuid.UUID = field(default_factory=uuid.uuid4)
    org_b: uuid.UUID = field(default_factory=uuid.uuid4)

    def actor(self, role: str, org: uuid.UUID | None = None, *, user_id: uuid.UUID | None = None,
              zone_id: int = ZONE_A) -> Actor:
        user_id = user_id or uuid.uuid4()
        org = org if org is not None or role in ("zone_admin", "super_admin") else self.org_a
        return Actor(role, org, self.mint.token(zone_id=zone_id, role=role, org_id=org, user_id=user_id), user_id,
                     zone_id)

    async def call(self, method: str, path: str, who: Actor, **kw: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=who.headers, **kw)

    async def ok(self, method: str, path: str, who: Actor, status: int = 200, **kw: Any) -> Any:
        resp = await self.call(method, path, who, **kw)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None


@pytest.fixture
async def exam_app(test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> AsyncIterator[ExamApp]:
    async with run_service("exam", test_db, namespace, expiry_sweep_seconds=3600) as rt:
        token_mint.install(rt.app)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=20) as client:
            yield ExamApp(rt, client, token_mint, test_db)


# ------------------------------------------------------------------------------------------------
# Builders


def logistic_item(code: str, b: float, *, a: float = 1.2, c: float = 0.0, area: str = "algebra",
                  key: str = "B", tags: list[str] | None = None) -> dict[str, Any]:
    return {"code": code, "stem": f"Question {code}", "content_area": area, "answer_key": key,
            "options": [{"key": k, "text": f"option {k}"} for k in "ABCD"], "model": "logistic",
            "a": a, "b": b, "c": c, "enemy_tags": tags or []}


async def make_bank(app: ExamApp, teacher: Actor, n_items: int = 6, *, name: str = "Algebra",
                    areas: tuple[str, ...] = ("algebra",)) -> tuple[dict, list[dict]]:
    bank = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": name})
    items = []
    for k in range(n_items):
        body = {"bank_id": bank["id"], **logistic_item(f"Q{k:03d}", -1.5 + 3.0 * k / max(n_items - 1, 1),
                                                       area=areas[k % len(areas)])}
        items.append(await app.ok("POST", "/api/v1/items", teacher, 201, json=body))
    return bank, items


async def make_exam(app: ExamApp, teacher: Actor, bank: dict, *, kind: str = "fixed", items: list[dict] | None = None,
                    publish: bool = True, **extra: Any) -> dict:
    body: dict[str, Any] = {"title": f"{kind} exam", "kind": kind, "item_bank_id": bank["id"], **extra}
    if kind == "fixed":
        body["item_ids"] = [i["id"] for i in items or []]
    exam = await app.ok("POST", "/api/v1/exams", teacher, 201, json=body)
    if publish:
        exam = await app.ok("POST", f"/api/v1/exams/{exam['id']}/publish", teacher)
    return exam


class CatServer:
    """The real CAT service in this process, which a test can kill and start again on the same
    gRPC port (exam keeps its channel; gRPC reconnects)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.port = 0
        self._cm: Any = None
        self.runtime: Any = None
        # Runtimes whose `cat` channel a restart waits for: a channel that saw CAT go away sits in
        # reconnect backoff (up to 2 s) and fails calls fast until it reconnects, so "CAT is back"
        # means back for its clients too, or the next call races the backoff timer.
        self.clients: list[Any] = []

    async def start(self) -> None:
        overrides = {"grpc_port": self.port} if self.port else {}
        self._cm = run_service("cat", None, self.namespace, **overrides)
        self.runtime = await self._cm.__aenter__()
        self.port = self.runtime.grpc_port
        for client in self.clients:
            await asyncio.wait_for(client.resources.channel("cat").channel_ready(), timeout=10)

    async def stop(self) -> None:
        if self._cm is not None:
            cm, self._cm = self._cm, None
            await cm.__aexit__(None, None, None)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
async def cat_server(namespace: str) -> AsyncIterator[CatServer]:
    server = CatServer(namespace)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def adaptive_app(test_db: TestDatabase, namespace: str, token_mint: TokenMint,
                       cat_server: CatServer) -> AsyncIterator[ExamApp]:
    async with run_service("exam", test_db, namespace, expiry_sweep_seconds=3600, grpc_deadline_seconds=3.0,
                           grpc_peers={"cat": cat_server.target}) as rt:
        token_mint.install(rt.app)
        cat_server.clients.append(rt)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=30) as client:
            yield ExamApp(rt, client, token_mint, test_db)
        cat_server.clients.remove(rt)
