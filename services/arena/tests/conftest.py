"""Arena test fixtures: the real arena service in-process on free ports, a throwaway database
(PostgreSQL with pgvector), the test's Redis prefix and NATS namespace, tokens from a test mint,
real WebSocket clients; `arena_ai` adds the real inference service (MiniLM embeddings, the CPU
LLM) loaded once per test session."""
from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from megacity.testing import TestDatabase, TokenMint, run_service

ZONE = 1
HOST = "api.univprepai.com"
OTHER_ZONE = 2
OTHER_ZONE_HOST = "api.collegeprepai.com"
DEAD_PEER = "127.0.0.1:1"  # inference when a test runs without it: calls fail fast -> 503


@dataclass
class Actor:
    role: str
    org_id: uuid.UUID | None
    token: str
    user_id: uuid.UUID
    zone_id: int = ZONE
    host: str = HOST

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Host": self.host}


@dataclass
class ArenaApp:
    runtime: Any
    client: httpx.AsyncClient
    mint: TokenMint
    db: TestDatabase
    namespace: str
    inference: Any = None
    org_a: uuid.UUID = field(default_factory=uuid.uuid4)
    org_b: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def port(self) -> int:
        return int(self.runtime.http_port)

    @property
    def res(self) -> Any:
        return self.runtime.resources

    @property
    def state(self) -> Any:
        return self.runtime.app.state.arena

    def actor(self, role: str = "student", org: uuid.UUID | None = None, *, user_id: uuid.UUID | None = None,
              zone_id: int = ZONE, host: str | None = None) -> Actor:
        """A token for `role` in `org` (default org_a; zone/super admins have none)."""
        user_id = user_id or uuid.uuid4()
        if org is None and role not in ("zone_admin", "super_admin"):
            org = self.org_a
        host = host or (HOST if zone_id == ZONE else OTHER_ZONE_HOST)
        token = self.mint.token(zone_id=zone_id, role=role, org_id=org, user_id=user_id)
        return Actor(role, org, token, user_id, zone_id, host)

    async def call(self, method: str, path: str, who: Actor | None = None, *, host: str = HOST,
                   **kw: Any) -> httpx.Response:
        headers = dict(who.headers) if who else {"Host": host}
        headers.update(kw.pop("headers", {}))
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, who: Actor | None = None, status: int = 200, **kw: Any) -> Any:
        """The call, asserting its status; the JSON body (or the response when not JSON)."""
        resp = await self.call(method, path, who, **kw)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content and resp.headers.get("content-type", "").endswith("json") else resp

    async def fails(self, method: str, path: str, who: Actor | None, status: int, code: str, **kw: Any) -> Any:
        """The call, asserting a problem answer with `status` and the stable `code`."""
        resp = await self.call(method, path, who, **kw)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        body = resp.json()
        assert body.get("code") == code, body
        return body

    def ws_url(self, port: int | None = None) -> str:
        return f"ws://{HOST}:{port or self.port}/api/v1/arena/ws"

    @contextlib.asynccontextmanager
    async def socket(self, who: Actor, last_seq: int | None = None, port: int | None = None
                     ) -> AsyncIterator[LiveClient]:
        """A real WebSocket to the service (TCP to 127.0.0.1, Host = the actor's api host), said hello."""
        port = port or self.port
        async with connect(f"ws://{who.host}:{port}/api/v1/arena/ws", host="127.0.0.1", port=port,
                           open_timeout=10, max_queue=None) as ws:
            client = LiveClient(ws)
            await client.send("hello", {"token": who.token, "last_seq": last_seq})
            yield client


def conforms(frame: dict[str, Any]) -> None:
    """Every frame a test receives is checked against the protocol models (live/schemas.py)."""
    from services.arena.live.schemas import SERVER_FRAMES

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
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        conforms(frame)
        self.frames.append(frame)
        return frame

    async def until(self, type_: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The next frame of `type_` (whose data has `match`), skipping others."""

        async def wait() -> dict[str, Any]:
            while True:
                frame = await self.recv(timeout)
                if frame.get("type") == type_ and all(frame.get("data", {}).get(k) == v for k, v in match.items()):
                    return frame

        return await asyncio.wait_for(wait(), timeout)


@contextlib.asynccontextmanager
async def arena_service(test_db: TestDatabase, namespace: str, token_mint: TokenMint, *, inference: Any = None,
                        **overrides: Any) -> AsyncIterator[ArenaApp]:
    """The arena service (and its HTTP client) with `overrides` as settings."""
    peer = f"127.0.0.1:{inference.grpc_port}" if inference is not None else DEAD_PEER
    # Tests run the upkeep steps (embedding backfill, league close) themselves, when they choose.
    overrides.setdefault("upkeep_interval_seconds", 3600.0)
    async with contextlib.AsyncExitStack() as es:
        rt = await es.enter_async_context(run_service(
            "arena", test_db, namespace, grpc_peers={"inference": peer}, **overrides))
        token_mint.install(rt.app)
        # Keep-alive connections expire before uvicorn's 5 s idle close, so a reused one is never
        # reset under the client (httpx.ReadError on a POST it cannot retry).
        client = await es.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}",
                                                                limits=httpx.Limits(keepalive_expiry=2.0),
                                                                timeout=60))
        yield ArenaApp(rt, client, token_mint, test_db, namespace, inference)


@pytest.fixture
async def arena(test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> AsyncIterator[ArenaApp]:
    """Arena alone: inference points at a dead port (embeddings pending, LLM grading unavailable)."""
    async with arena_service(test_db, namespace, token_mint) as app:
        yield app


@pytest.fixture(scope="session")
def arena_models() -> Any:
    """The inference models arena uses (MiniLM embeddings, the CPU LLM), loaded once per session
    on first use."""
    from services.inference.models import ModelSet
    from services.inference.tests.conftest import settings

    return ModelSet(settings("arena-models", models="embed,llm"))


@pytest.fixture
async def arena_ai(test_db: TestDatabase, namespace: str, token_mint: TokenMint,
                   arena_models: Any) -> AsyncIterator[ArenaApp]:
    """Arena with the real inference service (Embed, Generate) in this process."""
    from services.inference.tests.conftest import inference_service

    async with inference_service(arena_models, namespace, models="embed,llm") as inference, \
            arena_service(test_db, namespace, token_mint, inference=inference) as app:
        yield app
