"""The wire protocol shared by every WebSocket service (classroom, arena): frame shapes, close
codes and the parsing of client frames, in one place so the services cannot drift apart.

Server frames are JSON text. Room frames carry the room's sequence number
(`{"v":1,"seq":N,"type":"...","data":{...}}`) so a client can resume after a drop; direct
replies to one client carry none (`{"v":1,"type":"...","ref":"...","data":{...}}`). Frames are
encoded once by the sender and fanned out as text: no per-recipient JSON work.

Client frames are `{"type":"...","ref":"optional id","data":{...}}`, at most
`MAX_CLIENT_FRAME_BYTES`; anything else is a `ProtocolError` (close 4400 or an `error` frame).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from megacity.errors import AppError

PROTOCOL_VERSION: Final = 1
MAX_CLIENT_FRAME_BYTES: Final = 4096
HELLO_TIMEOUT_SECONDS: Final = 10.0
MAX_REF_CHARS: Final = 64

# Close codes (RFC 6455 leaves 4000-4999 to applications; 4xxx mirrors the HTTP status).
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001  # replica drain: reconnect elsewhere and resume
CLOSE_INTERNAL_ERROR: Final = 1011
CLOSE_TRY_AGAIN: Final = 1013  # the replica lost its fan-out link: reconnect and resume
CLOSE_BAD_FRAME: Final = 4400
CLOSE_UNAUTHENTICATED: Final = 4401
CLOSE_FORBIDDEN: Final = 4403
CLOSE_NO_SESSION: Final = 4404
CLOSE_SLOW_CONSUMER: Final = 4408
CLOSE_SESSION_ENDED: Final = 4410

CLOSE_REASONS: Final[dict[int, str]] = {
    CLOSE_NORMAL: "normal",
    CLOSE_GOING_AWAY: "going_away",
    CLOSE_INTERNAL_ERROR: "internal_error",
    CLOSE_TRY_AGAIN: "try_again",
    CLOSE_BAD_FRAME: "bad_frame",
    CLOSE_UNAUTHENTICATED: "unauthenticated",
    CLOSE_FORBIDDEN: "forbidden",
    CLOSE_NO_SESSION: "no_session",
    CLOSE_SLOW_CONSUMER: "slow_consumer",
    CLOSE_SESSION_ENDED: "session_ended",
}

# Audiences of a room frame: everyone, staff only (teachers), or one participant.
TO_ALL: Final = "all"
TO_STAFF: Final = "staff"
_PARTICIPANT_PREFIX: Final = "p:"


def to_participant(participant_id: object) -> str:
    """The audience of one participant: `p:<id>`."""
    text = str(participant_id)
    if not text or "|" in text:
        raise ValueError(f"invalid participant id for an audience: {participant_id!r}")
    return _PARTICIPANT_PREFIX + text


def check_audience(to: str) -> str:
    """`to` unchanged when it is a valid audience, else ValueError (it travels in a `|`-separated
    pub/sub header, so it may not contain `|`)."""
    if to in (TO_ALL, TO_STAFF) or (to.startswith(_PARTICIPANT_PREFIX) and len(to) > 2 and "|" not in to):
        return to
    raise ValueError(f"invalid audience {to!r}: expected 'all', 'staff' or 'p:<participant id>'")


def audience_matches(to: str, participant_id: str | None, staff: bool) -> bool:
    """Whether a peer (participant id, staff flag) receives a frame addressed to `to`. Staff see
    staff frames and frames for everyone; a participant frame goes to that participant only."""
    if to == TO_ALL:
        return True
    if to == TO_STAFF:
        return staff
    return participant_id is not None and to == _PARTICIPANT_PREFIX + participant_id


class ProtocolError(Exception):
    """Ends (or refuses) a connection: the WebSocket is closed with `close_code`; `code` is the
    stable error code also sent in an `error` frame first, `detail` the human text."""

    def __init__(self, close_code: int, code: str, detail: str = "") -> None:
        super().__init__(f"{close_code} {code}: {detail}")
        self.close_code = close_code
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """One parsed client frame."""

    type: str
    ref: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_client_frame(text: str | bytes, max_bytes: int = MAX_CLIENT_FRAME_BYTES) -> ClientFrame:
    """A client frame, or ProtocolError(4400, "realtime.bad_frame") for anything but a JSON object of at
    most `max_bytes` with a string `type`, an optional string `ref` and an optional object `data`."""
    size = len(text) if isinstance(text, bytes) else len(text.encode())
    if size > max_bytes:
        raise ProtocolError(CLOSE_BAD_FRAME, "realtime.bad_frame", f"frame larger than {max_bytes} bytes")
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(CLOSE_BAD_FRAME, "realtime.bad_frame", "frame is not JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError(CLOSE_BAD_FRAME, "realtime.bad_frame", "frame is not a JSON object")
    kind, ref, data = value.get("type"), value.get("ref"), value.get("data")
    if not isinstance(kind, str) or not 0 < len(kind) <= 64:
        raise ProtocolError(CLOSE_BAD_FRAME, "realtime.bad_frame", "frame needs a string 'type'")
    if ref is not None and (not isinstance(ref, str) or len(ref) > MAX_REF_CHARS):
        raise ProtocolError(CLOSE_BAD_FRAME, "realtime.bad_frame", f"'ref' must be a string of at most {MAX_REF_CHARS} characters")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise ProtocolError(CLOSE_BAD_FRAME, "realtime.bad_frame", "'data' must be a JSON object")
    return ClientFrame(kind, ref, data)


def frame_body(type: str, data: Any) -> str:
    """The tail of a sequenced frame after `{"v":1,"seq":N,`: `"type":...,"data":...}`. The room
    log splices the sequence number in front of it inside Redis (one encoding per frame)."""
    return _dumps({"type": type, "data": data})[1:]


def sequenced_frame(seq: int, type: str, data: Any, **extra: Any) -> str:
    """`{"v":1,"seq":N,"type":...,(extra...),"data":...}` (the snapshot frame, tests)."""
    return _dumps({"v": PROTOCOL_VERSION, "seq": seq, "type": type, **extra, "data": data})


def direct_frame(type: str, data: Any, ref: str | None = None) -> str:
    """A reply to one client, outside the room sequence: `{"v":1,"type":...,"ref":...,"data":...}`."""
    return _dumps({"v": PROTOCOL_VERSION, "type": type, "ref": ref, "data": data})


def error_frame(code: str, detail: str = "", ref: str | None = None, extra: Mapping[str, Any] | None = None) -> str:
    """The direct `error` frame: `{"v":1,"type":"error","ref":...,"data":{"code":...,"detail":...,(extra)}}`
    (`extra`: e.g. an AppError's `retry_after`; it cannot replace code or detail)."""
    return direct_frame("error", {**(extra or {}), "code": code, "detail": detail}, ref)


M = TypeVar("M", bound=BaseModel)


def parse_data(model: type[M], data: Mapping[str, Any], invalid: tuple[int, str, str]) -> M:
    """A client frame's data by its protocol model; a bad one raises `invalid` (status, code,
    detail) as an AppError naming the first faulty field, which the endpoint sends as an `error`
    frame (the connection stays open)."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise AppError(invalid[0], invalid[1], f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
