"""A live class in containers, through Traefik's published HTTPS port only (self-signed, SNI =
the zone's api host): the zone's super admin makes a class in tenant and assigns the teacher;
the teacher starts a classroom session; two students join by code and open WebSockets (wss)
through Traefik; a chat message from one reaches the other and the teacher, a card the teacher
shows reaches both without its answer, and both answers are acknowledged and counted.
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

FRAME_TIMEOUT = 20.0  # bounds a hang only


class Socket:
    """One wss connection through the edge, and every frame it has read."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    def send(self, type_: str, data: dict[str, Any], ref: str | None = None) -> None:
        self.ws.send(json.dumps({"type": type_, "data": data, **({"ref": ref} if ref else {})}))

    def next(self, type_: str, ref: str | None = None, **match: Any) -> dict[str, Any]:
        """The next frame of `type_` (with `ref`, and whose data has `match`), skipping others."""
        while True:
            frame = json.loads(self.ws.recv(timeout=FRAME_TIMEOUT))
            self.frames.append(frame)
            assert frame.get("type") != "error", frame
            data = frame.get("data") or {}
            if frame.get("type") == type_ and (ref is None or frame.get("ref") == ref) \
                    and all(data.get(k) == v for k, v in match.items()):
                return frame


@contextmanager
def live_socket(stack: Stack, code: str, token: str) -> Iterator[Socket]:
    """wss://<zone api host>/api/v1/classroom/sessions/<code>/ws over Traefik's published port."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE  # the local profile's self-signed certificate
    sock = socket.create_connection(("127.0.0.1", int(stack.env["EDGE_HTTPS_PORT"])), timeout=FRAME_TIMEOUT)
    with connect(f"wss://{ZONE_HOST}/api/v1/classroom/sessions/{code}/ws", sock=sock, ssl=tls,
                 server_hostname=ZONE_HOST, proxy=None, open_timeout=FRAME_TIMEOUT, max_queue=None) as ws:
        live = Socket(ws)
        live.send("hello", {"token": token, "last_seq": None})
        yield live


def test_a_live_class_through_traefik(stack: Stack, world: World) -> None:
    admin, teacher = world.admin.token, world.teacher.token
    org = {"org_id": world.org_id}  # the zone's super admin acts on the world's org
    cls = stack.ok("POST", "/api/v1/classes", admin, 201, params=org, json={"name": f"C-{uuid.uuid4().hex[:6]}",
                                                                            "grade": 5})
    assigned = stack.call("PUT", f"/api/v1/classes/{cls['id']}/teachers/{world.teacher.user_id}", admin, params=org)
    assert assigned.status_code in (200, 201), assigned.text

    started = stack.call("POST", "/api/v1/classroom/sessions", teacher, json={"class_id": cls["id"], "title": "Compose"})
    assert started.status_code == 201, started.text
    assert started.headers["x-served-by"] == "classroom" and started.headers["x-zone"] == "kzone"
    session = started.json()
    code, session_id = session["code"], session["id"]
    seats = [stack.ok("POST", f"/api/v1/classroom/join/{code}", status=201, json={"nickname": name, "avatar": "fox"})
             for name in ("Minji", "Doyun")]

    with ExitStack() as sockets:
        staff = sockets.enter_context(live_socket(stack, code, teacher))
        students = [sockets.enter_context(live_socket(stack, code, s["token"])) for s in seats]
        for sock in (staff, *students):
            sock.next("snapshot")

        students[0].send("chat", {"body": "Hello from the containers"}, ref="c1")
        assert students[0].next("chat_ack", ref="c1")["data"]["status"] == "visible"
        heard = [s.next("chat", body="Hello from the containers") for s in (staff, students[1])]
        assert heard[0]["seq"] == heard[1]["seq"]

        problem = stack.ok("POST", "/api/v1/classroom/problems", teacher, 201, json={
            "class_id": cls["id"], "type": "math", "difficulty": 1, "grade": 5, "prompt": "2 + 3 = ?", "answer": "5"})
        card = stack.ok("POST", f"/api/v1/classroom/sessions/{session_id}/cards", teacher, 201,
                        json={"problem_id": problem["id"]})
        for sock in students:
            shown = sock.next("card_shown", card_no=card["card_no"])
            assert shown["data"]["problem"]["id"] == problem["id"]
            assert "answer" not in shown["data"]["problem"], shown
        for i, (sock, answer) in enumerate(zip(students, ("5", "6"), strict=True)):
            sock.send("answer", {"card_no": card["card_no"], "answer": answer}, ref=f"a{i}")
        acks = [sock.next("answer_ack", ref=f"a{i}") for i, sock in enumerate(students)]
        assert [a["data"]["correct"] for a in acks] == [True, False], acks

    tally = stack.ok("GET", f"/api/v1/classroom/sessions/{session_id}/cards/{card['card_no']}/tally", teacher)
    assert (tally["answered"], tally["correct"]) == (2, 1), tally
    ended = stack.ok("POST", f"/api/v1/classroom/sessions/{session_id}/end", teacher)
    assert ended["status"] == "ended"
