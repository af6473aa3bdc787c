"""The arena WebSocket: /api/v1/arena/ws (protocol: the service README and asyncapi.yaml). A plain
GET of the same path documents it in the OpenAPI and answers 426."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, WebSocket

from megacity.errors import AppError
from megacity.http_app import problems
from megacity.realtime.endpoint import serve
from megacity.realtime.protocol import CLOSE_NO_SESSION
from megacity.zones import registry
from services.arena.live import service, session
from services.arena.matches import rounds

router = APIRouter(prefix="/api/v1/arena", tags=["live"])
UPGRADE = (426, "arena.websocket_required", "This path speaks WebSocket only")
# Every `error` frame code a live connection can get, for the OpenAPI (the frames carry these codes).
FRAME_ERRORS = (UPGRADE, session.TOKEN_MISSING, session.DENIED, session.INVALID, session.BAD_FORFEIT, session.UNKNOWN,
                rounds.NOT_FOUND, rounds.ROUND_CLOSED, rounds.ANSWERED, rounds.MATCH_OVER,
                (401, "auth.token_invalid", "The access token is invalid (close 4401)"),
                (401, "auth.token_expired", "The access token expired (close 4401)"),
                (401, "auth.token_revoked", "The access token was revoked (close 4401)"),
                (403, "auth.zone_mismatch", "The token belongs to another zone (close 4403)"),
                # megacity.realtime's own (any WebSocket service)
                (400, "realtime.bad_frame", "Not a JSON object of at most 4 KB with a string type (close 4400)"),
                (401, "realtime.hello_timeout", "No hello within 10 s (close 4401)"),
                (401, "realtime.hello_expected", "The first frame must be hello (close 4401)"),
                (503, "realtime.unavailable", "Live updates are unavailable; reconnect (close 1013)"),
                (503, "dependency.database_unavailable", "The database is unavailable; retry"),
                (503, "dependency.redis_unavailable", "Redis is unavailable; retry"),
                (500, "realtime.internal_error", "The frame could not be handled"))


@router.websocket("/ws")
async def arena_socket(websocket: WebSocket) -> None:
    res = websocket.app.state.resources
    st = service.state_for(res)
    route = registry().resolve_host(websocket.headers.get("host"))
    if route is None or st.hub is None:
        await websocket.close(CLOSE_NO_SESSION)
        return
    zone = route.zone

    async def authenticate(hello: Any) -> Any:
        return await session.authenticate(res, websocket, zone, hello)

    await serve(websocket, st.hub, authenticate,
                lambda peer, head: session.snapshot(res, peer, head),
                lambda peer, frame: session.handle(res, peer, frame),
                lambda peer: session.on_leave(res, peer),
                on_join=lambda peer: session.on_join(res, peer),
                queue_limit=st.settings.send_queue_frames)


@router.get("/ws", status_code=426, summary="Live arena (WebSocket)",
            description=(
                "Open a WebSocket here (through the edge: `wss://api.<domain>/api/v1/arena/ws`). First frame "
                "within 10 s: `{\"type\":\"hello\",\"data\":{\"token\":\"<access token>\",\"last_seq\":<last seq "
                "seen or null>}}` (a role with `arena:play`). The server answers with a `snapshot` (your queue "
                "status and your active match: seats and scores, the round on show with its time left and whether "
                "you and your opponent answered), replays what you missed after `last_seq`, then streams frames "
                "`{\"v\":1,\"seq\":N,\"type\":...,\"data\":...}`: queue_status, match_found, round_start, "
                "opponent_answered, round_result, match_result, rating_change, grade_update. Client frames: "
                "`answer {match_id, round, answer}` (the first answer counts; timed by the server), "
                "`forfeit {match_id}`, `ping`; replies `answer_ack`, `forfeit_ack`, `pong`, or `error {code, "
                "detail}` (codes below). A dropped player keeps its seat for `ARENA_FORFEIT_GRACE_SECONDS` (20 s): "
                "reconnect and resume, or the match is forfeited. Close codes: 4400 bad frame, 4401 no/invalid "
                "token, 4403 forbidden, 4408 too slow to read, 1001/1013 reconnect and resume. A plain GET "
                "answers 426. Protocol: services/arena/asyncapi.yaml."),
            responses=problems(*FRAME_ERRORS))
async def arena_socket_doc() -> None:
    raise AppError(426, "arena.websocket_required", "open a WebSocket on this path (see the description)")
