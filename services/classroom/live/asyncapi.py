"""asyncapi.yaml (AsyncAPI 3.0) of the live-session WebSocket, generated from the protocol models
in live/schemas.py by megacity.realtime.asyncapi: `python -m services.classroom.live.asyncapi`
rewrites it; a test fails when it is stale."""
from __future__ import annotations

import sys
from pathlib import Path

from megacity.realtime import asyncapi
from services.classroom.live.schemas import CLIENT_FRAMES, SERVER_FRAMES

OUT = Path(__file__).resolve().parents[1] / "asyncapi.yaml"
SOCKET = asyncapi.Socket(
    title="MegaCity classroom live session",
    description=("One WebSocket per participant or teacher. Send `hello` first (10 s), get a `snapshot`, the frames "
                 "missed since `last_seq`, then live frames. Frames are JSON text, at most 4 KB from the client."),
    address="/api/v1/classroom/sessions/{code}/ws", parameters={"code": "the session's 8-character code"},
    server_frames=SERVER_FRAMES, client_frames=CLIENT_FRAMES, seq_scope="session",
    close_codes={4400: "bad frame", 4401: "no or invalid token (or no hello within 10 s)",
                 4403: "forbidden: kicked, banned, pending approval, another session's token",
                 4404: "no such session", 4408: "slow consumer: the client did not read its frames",
                 4410: "the session ended or expired", 1001: "replica draining: reconnect and resume",
                 1013: "try again: reconnect and resume"},
    generator="python -m services.classroom.live.asyncapi")


def render() -> str:
    return asyncapi.render(SOCKET)


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}", file=sys.stderr)
