"""An arena match in containers, through Traefik's published HTTPS port only (self-signed, SNI =
the zone's api host): the teacher writes the org's questions, the teacher and the student open
their WebSockets (wss) through Traefik, queue for a casual match over HTTP, are paired by the
matchmaking worker, play every round on the same questions and both get the match result; the
match is then in both players' histories. Inference in the local stack serves speech only, so
the questions' embeddings stay pending (the similar/duplicate paths are tested natively).
Run by `make compose-test`."""
from __future__ import annotations

import json
import socket
import ssl
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.compose.conftest import ZONE_HOST, Stack, World

FRAME_TIMEOUT = 30.0  # bounds a hang only


class Socket:
    """One wss connection through the edge and the frames it has read but not yet consumed."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.unread: list[dict[str, Any]] = []

    def send(self, type_: str, data: dict[str, Any], ref: str | None = None) -> None:
        self.ws.send(json.dumps({"type": type_, "data": data, **({"ref": ref} if ref else {})}))

    def next(self, type_: str, **match: Any) -> dict[str, Any]:
        """The first unconsumed frame of `type_` whose data has `match`; the others stay unread."""
        while True:
            for frame in self.unread:
                data = frame.get("data") or {}
                if frame["type"] == type_ and all(data.get(k) == v for k, v in match.items()):
                    self.unread.remove(frame)
                    return frame
            frame = json.loads(self.ws.recv(timeout=FRAME_TIMEOUT))
            assert frame.get("type") != "error", frame
            self.unread.append(frame)


@contextmanager
def arena_socket(stack: Stack, token: str) -> Iterator[Socket]:
    """wss://<zone api host>/api/v1/arena/ws over Traefik's published port, said hello."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE  # the local profile's self-signed certificate
    sock = socket.create_connection(("127.0.0.1", int(stack.env["EDGE_HTTPS_PORT"])), timeout=FRAME_TIMEOUT)
    with connect(f"wss://{ZONE_HOST}/api/v1/arena/ws", sock=sock, ssl=tls, server_hostname=ZONE_HOST, proxy=None,
                 open_timeout=FRAME_TIMEOUT, max_queue=None) as ws:
        live = Socket(ws)
        live.send("hello", {"token": token, "last_seq": None})
        yield live


def test_an_arena_match_through_traefik(stack: Stack, world: World) -> None:
    teacher, student = world.teacher.token, world.student.token
    run = uuid.uuid4().hex[:6]
    answers = {}
    for i in range(9):
        created = stack.call("POST", "/api/v1/arena/questions", teacher, json={
            "type": "short", "content": f"[{run}] What is {i} times 3?", "answer": str(3 * i), "difficulty": 2})
        assert created.status_code == 201, created.text
        assert created.headers["x-served-by"] == "arena" and created.headers["x-zone"] == "kzone"
        answers[created.json()["id"]] = str(3 * i)
    for token in (teacher, student):
        stack.ok("GET", "/api/v1/arena/me", token)

    with ExitStack() as sockets:
        players = [sockets.enter_context(arena_socket(stack, token)) for token in (teacher, student)]
        for sock in players:
            sock.next("snapshot")
        for token in (teacher, student):
            stack.ok("POST", "/api/v1/arena/queue", token, 202, json={"mode": "casual"})
        found = [sock.next("match_found") for sock in players]
        match_id = found[0]["data"]["match_id"]
        assert found[1]["data"]["match_id"] == match_id
        for n in range(1, found[0]["data"]["round_count"] + 1):
            starts = [sock.next("round_start", round=n) for sock in players]
            question = starts[0]["data"]["question"]
            assert starts[1]["data"]["question"]["id"] == question["id"] and "answer" not in question
            players[0].send("answer", {"match_id": match_id, "round": n, "answer": answers[question["id"]]})
            players[1].send("answer", {"match_id": match_id, "round": n, "answer": "no idea"})
            verdicts = [sock.next("answer_ack", round=n)["data"]["verdict"] for sock in players]
            assert verdicts == ["correct", "wrong"], verdicts
            for sock in players:
                sock.next("round_result", round=n)
        results = [sock.next("match_result") for sock in players]
        assert results[0]["data"]["winner_user_id"] == world.teacher.user_id, results[0]
        assert results[1]["data"]["match_id"] == match_id and results[0]["data"]["rated"] is False

    for token in (teacher, student):
        mine = stack.ok("GET", "/api/v1/arena/matches", token)
        assert match_id in [m["id"] for m in mine["items"]], mine
