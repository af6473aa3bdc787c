"""The live session WebSocket: /api/v1/classroom/sessions/{code}/ws (protocol: the service README
and asyncapi.yaml). A plain GET of the same path documents it in the OpenAPI and answers 426."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, WebSocket

from megacity.errors import AppError
from megacity.http_app import problems
from megacity.realtime.endpoint import serve
from megacity.realtime.protocol import CLOSE_NO_SESSION
from megacity.zones import registry
from services.classroom.live import answers, service
from services.classroom.messages import service as messages
from services.classroom.participants import service as participants
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import service as sessions

router = APIRouter(prefix="/api/v1/classroom/sessions", tags=["live"])
UPGRADE = (426, "classroom.websocket_required", "This path speaks WebSocket only")
# Every `error` frame code a live connection can get, for the OpenAPI (the frames carry these codes).
FRAME_ERRORS = (UPGRADE, service.WRONG_SESSION, service.PENDING, service.LIVE_ONLY, service.UNKNOWN, sessions.NOT_FOUND,
                sessions.EXPIRED, sessions.ENDED, participants.BANNED,
                (401, "classroom.participant_token_invalid", "The participant token is invalid or has expired"),
                (401, "auth.token_missing", "hello needs data.token"),
                (403, "auth.permission_denied", "Your role may not run classroom sessions"),
                (404, "classroom.not_your_class", "The class is not yours"),
                answers.NO_CARD, answers.CLOSED, answers.ANSWERED, answers.INVALID,
                messages.INVALID, messages.REJECTED, messages.RATE, messages.CHAT_OFF,
                # megacity.realtime's own (any WebSocket service)
                (400, "realtime.bad_frame", "Not a JSON object of at most 4 KB with a string type (close 4400)"),
                (401, "realtime.hello_timeout", "No hello within 10 s (close 4401)"),
                (401, "realtime.hello_expected", "The first frame must be hello (close 4401)"),
                (503, "realtime.unavailable", "Live updates are unavailable; reconnect (close 1013)"),
                (503, "dependency.database_unavailable", "The database is unavailable; retry"),
                (503, "dependency.redis_unavailable", "Redis is unavailable; retry"),
                (500, "realtime.internal_error", "The frame could not be handled"))


@router.websocket("/{code}/ws")
async def live_socket(websocket: WebSocket, code: str) -> None:
    st: ClassroomState = websocket.app.state.classroom
    res = websocket.app.state.resources
    route = registry().resolve_host(websocket.headers.get("host"))
    if route is None or st.hub is None:
        await websocket.close(CLOSE_NO_SESSION)
        return
    zone = route.zone

    async def authenticate(hello: Any) -> Any:
        return await service.authenticate(res, websocket, zone, code, hello)

    await serve(websocket, st.hub, authenticate,
                lambda peer, head: service.snapshot(res, peer, head),
                lambda peer, frame: service.handle(res, st, peer, frame),
                lambda peer: service.on_leave(res, st, peer),
                on_join=lambda peer: service.on_join(res, st, peer),
                queue_limit=st.settings.send_queue_frames)


@router.get("/{code}/ws", status_code=426, summary="Live session (WebSocket)",
            description=(
                "Open a WebSocket here (through the edge: `wss://api.<domain>/api/v1/classroom/sessions/<CODE>/ws`). "
                "First frame within 10 s: `{\"type\":\"hello\",\"data\":{\"token\":\"<participant token or "
                "teacher access token>\",\"last_seq\":<last seq seen or null>}}`. The server answers with a "
                "`snapshot` (session, card on show with time left, own score and rank, latest 50 messages, "
                "leaderboard; teachers also get participants and the tally), replays what was missed after "
                "`last_seq`, then streams frames `{\"v\":1,\"seq\":N,\"type\":...,\"data\":...}`: joined, left, "
                "chat, message_hidden, message_held, card_shown, card_closed, tally, tally_detail, leaderboard, "
                "session_updated, session_extended, session_ending, session_ended, kicked, approved, "
                "participant_updated. Client frames: `chat {body}`, `answer {card_no, answer}`, `ping`; replies "
                "`chat_ack`, `answer_ack`, `pong`, or `error {code, detail}` (codes below). Close codes: 4400 bad "
                "frame, 4401 no/invalid token, 4403 forbidden/kicked, 4404 no session, 4408 too slow to read, "
                "4410 session over, 1001/1013 reconnect and resume. A plain GET answers 426."),
            responses=problems(*FRAME_ERRORS))
async def live_socket_doc(code: str) -> None:
    raise AppError(426, "classroom.websocket_required", "open a WebSocket on this path (see the description)")
