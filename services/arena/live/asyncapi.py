"""asyncapi.yaml (AsyncAPI 3.0) of the arena WebSocket, generated from the protocol models in
live/schemas.py by megacity.realtime.asyncapi: `python -m services.arena.live.asyncapi` rewrites
it; a test fails when it is stale."""
from __future__ import annotations

import sys
from pathlib import Path

from megacity.realtime import asyncapi
from services.arena.live.routes import FRAME_ERRORS
from services.arena.live.schemas import CLIENT_FRAMES, SERVER_FRAMES

OUT = Path(__file__).resolve().parents[1] / "asyncapi.yaml"
SOCKET = asyncapi.Socket(
    title="MegaCity arena",
    description=("One WebSocket per player (several tabs share the player's frames). Send `hello` first (10 s), get "
                 "a `snapshot` (queue status, active match), the frames missed since `last_seq`, then live frames. "
                 "Frames are JSON text, at most 4 KB from the client."),
    address="/api/v1/arena/ws", server_frames=SERVER_FRAMES, client_frames=CLIENT_FRAMES, seq_scope="player",
    close_codes={4400: "bad frame", 4401: "no or invalid token (or no hello within 10 s)",
                 4403: "forbidden: the role may not play, or the token is of another zone",
                 4404: "unknown host", 4408: "slow consumer: the client did not read its frames",
                 1001: "replica draining: reconnect and resume", 1013: "try again: reconnect and resume"},
    frame_errors=FRAME_ERRORS, generator="python -m services.arena.live.asyncapi")


def render() -> str:
    return asyncapi.render(SOCKET)


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}", file=sys.stderr)
