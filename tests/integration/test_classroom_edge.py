"""A live class through the real native edge (Traefik rendered from the registry, LocalEdge):
every HTTP request and every WebSocket goes through Traefik with the zone's api Host, the way a
school reaches the classroom service in production (issue #14, "through the edge where it
matters").

The classroom and tenant services run for real (teacher↔class assignments come from tenant over
gRPC), on a throwaway database with the test's Redis prefix and NATS namespace; tokens come from
the test mint. A teacher starts a session, five students join by code over HTTP and open their
WebSockets through Traefik, say hello with their participant tokens, and then: a chat message
from one reaches every other socket (the teacher's too) with the same sequence number, a card the
teacher shows reaches everyone without its answer, and every answer is acknowledged and counted.
"""
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

from gateway.local_edge import EdgeConfig, LocalEdge
from megacity.testing import TestDatabase, TokenMint, run_service
from services.classroom.tests.conftest import ClassroomApp
from tests.integration.school_edge import HOST, free_port

STUDENTS = ("Minji", "Doyun", "Seoyeon", "Hajun", "Jiwoo")
FRAME_TIMEOUT = 10.0  # bounds a hang only


@dataclass
class Socket:
    """One WebSocket through the edge, and every frame it has read."""

    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, type_: str, data: dict[str, Any], ref: str | None = None) -> None:
        await self.ws.send(json.dumps({"type": type_, "data": data, **({"ref": ref} if ref else {})}))

    async def next(self, type_: str, ref: str | None = None, **match: Any) -> dict[str, Any]:
        """The next frame of `type_` (with `ref`, and whose data has `match`), skipping others."""
        async def wait() -> dict[str, Any]:
            while True:
                frame = json.loads(await self.ws.recv())
                self.frames.append(frame)
                if frame.get("type") == "error":
                    raise AssertionError(f"error frame while waiting for {type_}: {frame}")
                data = frame.get("data") or {}
                if frame.get("type") == type_ and (ref is None or frame.get("ref") == ref) \
                        and all(data.get(k) == v for k, v in match.items()):
                    return frame

        return await asyncio.wait_for(wait(), FRAME_TIMEOUT)


@dataclass
class EdgeClass:
    app: ClassroomApp  # its HTTP client is the edge's: every call goes through Traefik
    edge: LocalEdge

    @contextlib.asynccontextmanager
    async def socket(self, code: str, token: str) -> AsyncIterator[Socket]:
        """A WebSocket through Traefik (TCP to the edge, Host = the zone's api host), said hello."""
        port = self.edge.port
        async with connect(f"ws://{HOST}:{port}/api/v1/classroom/sessions/{code}/ws", host="127.0.0.1", port=port,
                           proxy=None, open_timeout=FRAME_TIMEOUT, max_queue=None) as ws:
            sock = Socket(ws)
            await sock.send("hello", {"token": token, "last_seq": None})
            yield sock


@pytest.fixture
async def edge_class(test_db: TestDatabase, namespace: str, token_mint: TokenMint, tmp_path: Any
                     ) -> AsyncIterator[EdgeClass]:
    async with contextlib.AsyncExitStack() as stack:
        tenant = await stack.enter_async_context(run_service("tenant", test_db, namespace))
        classroom = await stack.enter_async_context(run_service(
            "classroom", test_db, namespace, secret_key="classroom-edge-test-secret-key",
            grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}))
        for rt in (tenant, classroom):
            token_mint.install(rt.app)
        cfg = EdgeConfig(listen_port=free_port(), upstreams={
            "tenant": f"127.0.0.1:{tenant.http_port}", "classroom": f"127.0.0.1:{classroom.http_port}"})
        edge = stack.enter_context(LocalEdge(cfg, tmp_path / "edge"))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=edge.url, timeout=30))
        yield EdgeClass(ClassroomApp(classroom, client, token_mint, test_db, tenant, client), edge)


async def test_a_live_class_through_traefik(edge_class: EdgeClass) -> None:
    app = edge_class.app
    school = await app.school()  # tenant's API through the edge: classes, the teacher's assignment
    started = await app.call("POST", "/api/v1/classroom/sessions", school.teacher,
                             json={"class_id": school.class_id, "title": "Fractions"})
    assert started.status_code == 201, started.text
    assert started.headers["x-served-by"] == "classroom" and started.headers["x-zone"] == "univ"
    session = started.json()
    code, session_id = session["code"], session["id"]

    seats = []
    for name in STUDENTS:  # anonymous joins by code, through the edge
        seats.append(await app.ok("POST", f"/api/v1/classroom/join/{code.lower()}", status=201,
                                  json={"nickname": name, "avatar": "fox"}))
    assert [s["nickname"] for s in seats] == list(STUDENTS)
    assert all(s["status"] == "active" for s in seats)

    async with contextlib.AsyncExitStack() as sockets:
        teacher = await sockets.enter_async_context(edge_class.socket(code, school.teacher.token))
        students = [await sockets.enter_async_context(edge_class.socket(code, s["token"])) for s in seats]
        snapshots = await asyncio.gather(*(s.next("snapshot") for s in (teacher, *students)))
        assert snapshots[0]["data"]["me"] == {"staff": True}
        assert [s["data"]["me"]["nickname"] for s in snapshots[1:]] == list(STUDENTS)

        # Chat: one student's message reaches every other socket, as the same frame of the log.
        await students[0].send("chat", {"body": "Hello, class!"}, ref="c1")
        ack = await students[0].next("chat_ack", ref="c1")
        assert ack["data"]["status"] == "visible", ack
        heard = await asyncio.gather(*(s.next("chat", body="Hello, class!") for s in (teacher, *students)))
        assert len({f["seq"] for f in heard}) == 1, heard
        assert all(f["data"]["author"]["nickname"] == STUDENTS[0] for f in heard)

        # A card: the teacher makes a problem and shows it; everyone gets it, nobody gets the answer.
        problem = await app.ok("POST", "/api/v1/classroom/problems", school.teacher, 201, json={
            "class_id": school.class_id, "type": "math", "difficulty": 2, "grade": 5,
            "prompt": "1/2 + 1/4 = ?", "answer": "3/4"})
        card = await app.ok("POST", f"/api/v1/classroom/sessions/{session_id}/cards", school.teacher, 201,
                            json={"problem_id": problem["id"]})
        card_no = card["card_no"]
        shown = await asyncio.gather(*(s.next("card_shown", card_no=card_no) for s in (teacher, *students)))
        assert len({f["seq"] for f in shown}) == 1
        for frame in shown[1:]:
            assert frame["data"]["problem"]["id"] == problem["id"]
            assert "3/4" not in json.dumps(frame["data"]), "a participant must never see the answer"

        # Answers: each acknowledged with the server's verdict; three right, two wrong.
        given = ["3/4", "6/8", "0.75", "2/6", "1/8"]
        for i, (sock, answer) in enumerate(zip(students, given, strict=True)):
            await sock.send("answer", {"card_no": card_no, "answer": answer}, ref=f"a{i}")
        acks = await asyncio.gather(*(s.next("answer_ack", ref=f"a{i}") for i, s in enumerate(students)))
        assert [a["data"]["card_no"] for a in acks] == [card_no] * 5
        assert [a["data"]["correct"] for a in acks] == [True, True, True, False, False], acks
        again = "dup"
        await students[0].send("answer", {"card_no": card_no, "answer": "3/4"}, ref=again)
        dup = await asyncio.wait_for(_reply(students[0], again), FRAME_TIMEOUT)
        assert dup["type"] == "error" and dup["data"]["code"] == "classroom.already_answered", dup

    tally = await app.ok("GET", f"/api/v1/classroom/sessions/{session_id}/cards/{card_no}/tally", school.teacher)
    assert (tally["answered"], tally["correct"]) == (5, 3), tally
    assert tally["stored"] == {"answered": 5, "correct": 3}, tally
    # The seats are the participants the service stored, each once.
    people = await app.ok("GET", f"/api/v1/classroom/sessions/{session_id}/participants", school.teacher)
    assert sorted(p["nickname"] for p in people["items"]) == sorted(STUDENTS)
    assert {uuid.UUID(p["id"]) for p in people["items"]} == {uuid.UUID(s["participant_id"]) for s in seats}


async def _reply(sock: Socket, ref: str) -> dict[str, Any]:
    """The next direct reply (ack or error) to the client frame `ref`."""
    while True:
        frame = json.loads(await sock.ws.recv())
        sock.frames.append(frame)
        if frame.get("ref") == ref:
            return frame
