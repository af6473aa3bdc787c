"""A tiny app on megacity.realtime for its tests: one "replica" = its own Redis client, RoomLog,
Hub and uvicorn server on a free port, in the test's process.

Hello tokens are plain strings the test chooses: "staff", "p:<participant id>", anything else
is refused with 4401. Client frames: "echo" (replies `echo_ack` with its data), "reply" (a
`Reply`), "boom" (AppError -> error frame), "kickme" (ProtocolError 4403), "publish" (publishes
its data as a "chat" frame to the room; replies the seq).
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket

from megacity.errors import AppError
from megacity.realtime import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    ClientFrame,
    Hub,
    Peer,
    ProtocolError,
    Reply,
    Room,
    RoomLog,
    serve,
)
from megacity.redis_client import make_redis
from megacity.redis_keys import RedisKeys
from megacity.testing import REDIS_URL

ZONE = 1
ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")


def room(room_id: uuid.UUID | None = None, org: uuid.UUID = ORG) -> Room:
    return Room(ZONE, org, "testroom", room_id or uuid.uuid4())


@dataclass
class Replica:
    """One serving process as far as the realtime machinery can tell."""

    log: RoomLog
    hub: Hub
    port: int
    left: list[Peer] = field(default_factory=list)
    joined: list[Peer] = field(default_factory=list)

    def url(self, room: Room) -> str:
        return f"ws://127.0.0.1:{self.port}/rooms/{room.org_id}/{room.id}/ws"


def build_app(replica_box: dict[str, Replica], *, hello_timeout: float, queue_limit: int) -> FastAPI:
    app = FastAPI()

    @app.websocket("/rooms/{org_id}/{room_id}/ws")
    async def room_ws(websocket: WebSocket, org_id: uuid.UUID, room_id: uuid.UUID) -> None:
        replica = replica_box["replica"]
        the_room = Room(ZONE, org_id, "testroom", room_id)

        async def authenticate(hello: Mapping[str, Any]) -> Peer:
            token = hello.get("token")
            if token == "staff":
                return Peer(the_room, None, True)
            if isinstance(token, str) and token.startswith("p:") and len(token) > 2:
                return Peer(the_room, token[2:], False)
            if token == "gone":
                raise AppError(410, "test.session_ended", "over")
            raise ProtocolError(CLOSE_UNAUTHENTICATED, "test.token_invalid", "bad token")

        async def snapshot(peer: Peer, head: int) -> Any:
            return {"head": head, "me": peer.participant_id}

        async def handle(peer: Peer, frame: ClientFrame) -> Reply | Mapping[str, Any] | None:
            if frame.type == "echo":
                return frame.data
            if frame.type == "reply":
                return Reply("custom", {"ok": True})
            if frame.type == "boom":
                raise AppError(409, "test.conflict", "no")
            if frame.type == "kickme":
                raise ProtocolError(CLOSE_FORBIDDEN, "test.kicked", "bye")
            if frame.type == "publish":
                seq = await replica.log.publish(peer.room, "chat", frame.data)
                return {"seq": seq}
            if frame.type == "silent":
                return None
            raise AppError(422, "test.unknown_frame", frame.type)

        async def on_join(peer: Peer) -> None:
            replica.joined.append(peer)

        async def on_leave(peer: Peer) -> None:
            replica.left.append(peer)

        await serve(websocket, replica.hub, authenticate, snapshot, handle, on_leave, on_join=on_join,
                    hello_timeout=hello_timeout, queue_limit=queue_limit)

    return app


@asynccontextmanager
async def replica(namespace: str, *, hello_timeout: float = 10.0, queue_limit: int = 512,
                  maxlen: int = 5000) -> AsyncIterator[Replica]:
    """A replica serving on a free port until the block ends."""
    redis = make_redis(REDIS_URL)
    log = RoomLog(redis, RedisKeys(namespace), maxlen=maxlen)
    hub = Hub(redis, log)
    await hub.start()
    box: dict[str, Replica] = {}
    config = uvicorn.Config(build_app(box, hello_timeout=hello_timeout, queue_limit=queue_limit),
                            host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                            ws_per_message_deflate=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    box["replica"] = Replica(log, hub, port)
    try:
        yield box["replica"]
    finally:
        await hub.close()
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        await redis.aclose()
