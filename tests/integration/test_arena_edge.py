"""A full ranked arena match through the real native edge (Traefik rendered from the registry,
LocalEdge): every HTTP request and both WebSockets go through Traefik with the zone's api Host,
the way students reach arena in production (issue #15, "a full ranked match between two clients
through the edge").

Two students of different schools in the zone open their profiles, connect their sockets,
queue for a ranked match over HTTP and are paired by the real matchmaking worker; they play
every round on the same questions (one always right, one always wrong, answering at the same
moment), get each round's result and the match result, and then each gets exactly one
`rating_change` from the rating consumer (through NATS): the winner up, the loser down, the
same figures as the database.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from gateway.local_edge import EdgeConfig, LocalEdge
from megacity.testing import TestDatabase, TokenMint
from services.arena.tests.conftest import ZONE, Actor, ArenaApp, arena_service, conforms
from tests.integration.school_edge import HOST, free_port

ROUNDS = 3
FRAME_TIMEOUT = 20.0  # bounds a hang only


@dataclass
class Socket:
    """One WebSocket through the edge and the frames it has read but not yet consumed (each
    checked against the protocol models). A reply and a room frame may arrive in either order."""

    ws: ClientConnection
    unread: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, type_: str, data: dict[str, Any], ref: str | None = None) -> None:
        await self.ws.send(json.dumps({"type": type_, "data": data, **({"ref": ref} if ref else {})}))

    async def next(self, type_: str, **match: Any) -> dict[str, Any]:
        """The first unconsumed frame of `type_` whose data has `match`; the others stay unread."""
        def wanted(frame: dict[str, Any]) -> bool:
            data = frame.get("data") or {}
            return frame["type"] == type_ and all(data.get(k) == v for k, v in match.items())

        async def wait() -> dict[str, Any]:
            while True:
                for frame in self.unread:
                    if wanted(frame):
                        self.unread.remove(frame)
                        return frame
                frame = json.loads(await self.ws.recv())
                conforms(frame)
                assert frame["type"] != "error", frame
                self.unread.append(frame)

        return await asyncio.wait_for(wait(), FRAME_TIMEOUT)


@dataclass
class EdgeArena:
    app: ArenaApp  # its HTTP client is the edge's: every call goes through Traefik
    edge: LocalEdge

    @contextlib.asynccontextmanager
    async def socket(self, who: Actor) -> AsyncIterator[Socket]:
        port = self.edge.port
        async with connect(f"ws://{HOST}:{port}/api/v1/arena/ws", host="127.0.0.1", port=port, proxy=None,
                           open_timeout=FRAME_TIMEOUT, max_queue=None) as ws:
            sock = Socket(ws)
            await sock.send("hello", {"token": who.token, "last_seq": None})
            yield sock


@pytest.fixture
async def edge_arena(test_db: TestDatabase, namespace: str, token_mint: TokenMint, tmp_path: Any
                     ) -> AsyncIterator[EdgeArena]:
    # Both students connect from this machine's one address and answer at machine speed, which the
    # related-account rule would leave unrated (it has its own tests); pairing runs every 0.2 s.
    async with arena_service(test_db, namespace, token_mint, round_count=ROUNDS, round_gap_seconds=0.2,
                             pair_interval_seconds=0.2, fairplay_quick_loss_seconds=0.0) as app:
        cfg = EdgeConfig(listen_port=free_port(), upstreams={"arena": f"127.0.0.1:{app.port}"})
        with LocalEdge(cfg, tmp_path / "edge") as edge:
            async with httpx.AsyncClient(base_url=edge.url, timeout=30) as client:
                app.client = client
                yield EdgeArena(app, edge)


async def _seed_questions(app: ArenaApp, n: int) -> dict[str, str]:
    """Zone-shared short-answer questions (`a + b = ?`); question id -> answer."""
    rows = await app.db.sql(
        "INSERT INTO arena.questions (zone_id, org_id, type, content, answer, difficulty)"
        " SELECT :z, NULL, 'short', i || ' + ' || (i + 1) || ' = ?', (2 * i + 1)::text, 2"
        " FROM generate_series(1, :n) AS i RETURNING id, answer", z=ZONE, n=n)
    return {str(r[0]): r[1] for r in rows}


async def test_a_ranked_match_through_traefik(edge_arena: EdgeArena) -> None:
    app = edge_arena.app
    answers = await _seed_questions(app, ROUNDS + 4)
    minji, doyun = app.actor("student", app.org_a), app.actor("student", app.org_b)
    for who in (minji, doyun):
        resp = await app.call("GET", "/api/v1/arena/me", who)
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-served-by"] == "arena" and resp.headers["x-zone"] == "univ"

    async with edge_arena.socket(minji) as a, edge_arena.socket(doyun) as b:
        for sock in (a, b):
            snap = await sock.next("snapshot")
            assert snap["data"]["match"] is None
        for who in (minji, doyun):
            queued = await app.call("POST", "/api/v1/arena/queue", who, json={"mode": "ranked"})
            assert queued.status_code == 202, queued.text
        found = await asyncio.gather(a.next("match_found"), b.next("match_found"))
        match_id = found[0]["data"]["match_id"]
        assert found[1]["data"]["match_id"] == match_id and found[0]["data"]["mode"] == "ranked"
        assert {found[0]["data"]["my_seat"], found[1]["data"]["my_seat"]} == {0, 1}

        for n in range(1, ROUNDS + 1):
            starts = await asyncio.gather(a.next("round_start", round=n), b.next("round_start", round=n))
            question = starts[0]["data"]["question"]
            assert starts[1]["data"]["question"]["id"] == question["id"]
            assert not {"answer", "aliases", "explanation"} & set(question), "the answer must not leak"
            # Both answer at the same moment: Minji right, Doyun wrong.
            await asyncio.gather(
                a.send("answer", {"match_id": match_id, "round": n, "answer": answers[question["id"]]}, ref=f"a{n}"),
                b.send("answer", {"match_id": match_id, "round": n, "answer": "-1"}, ref=f"b{n}"))
            acks = await asyncio.gather(a.next("answer_ack", round=n), b.next("answer_ack", round=n))
            assert [x["data"]["verdict"] for x in acks] == ["correct", "wrong"], acks
            results = await asyncio.gather(a.next("round_result", round=n), b.next("round_result", round=n))
            assert {r["data"]["question_id"] for r in results} == {question["id"]}
            assert len(results[0]["data"]["answers"]) == 2

        ends = await asyncio.gather(a.next("match_result"), b.next("match_result"))
        assert ends[0]["data"]["winner_user_id"] == str(minji.user_id) and ends[0]["data"]["rated"], ends[0]
        changes = await asyncio.gather(a.next("rating_change", topic=""), b.next("rating_change", topic=""))

    up, down = changes[0]["data"], changes[1]["data"]
    assert up["after"] > up["before"] == 1500 and down["after"] < down["before"] == 1500, changes
    stored = dict(await app.db.sql("SELECT user_id::text, rating FROM arena.ratings WHERE topic = '' AND zone_id = :z",
                                   z=ZONE))
    assert stored == pytest.approx({str(minji.user_id): up["after"], str(doyun.user_id): down["after"]})
    once = await app.db.sql("SELECT count(*) FROM arena.rating_changes WHERE match_id = CAST(:m AS uuid)", m=match_id)
    assert once[0][0] == 2
    me = (await app.call("GET", "/api/v1/arena/me", minji)).json()
    assert me["wins"] == 1, me
