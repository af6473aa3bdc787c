"""The classroom WebSocket protocol, version 1, as pydantic models: what each frame's `data` holds.

Every server frame is `{"v":1,"seq":N,"type":T,"data":...}` (room frames, replayable after a
reconnect) or `{"v":1,"type":T,"ref":R,"data":...}` (direct replies). `SERVER_FRAMES` and
`CLIENT_FRAMES` map each type to its model; asyncapi.yaml is generated from them
(`python -m services.classroom.live.asyncapi`), and the tests validate every frame they receive
against them, so the document, the models and the wire cannot drift apart.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """Server data may grow new fields in a minor change; clients ignore what they do not know."""

    model_config = ConfigDict(extra="allow")


# --- client -> server ---------------------------------------------------------------------------

class Hello(_Frame):
    """First frame, within 10 s. `token`: a participant token (from POST /join/{code}) or a
    teacher's access token. `last_seq`: the last `seq` received before a drop (null: fresh)."""

    token: str = Field(..., min_length=1, max_length=4096)
    last_seq: int | None = Field(None, ge=0)


class ChatIn(_Frame):
    body: str = Field(..., min_length=1, max_length=400)


class AnswerIn(_Frame):
    card_no: int = Field(..., ge=1)
    answer: str = Field(..., min_length=1, max_length=200)


class Ping(_Frame):
    pass


CLIENT_FRAMES: dict[str, type[BaseModel]] = {"hello": Hello, "chat": ChatIn, "answer": AnswerIn, "ping": Ping}


# --- shared shapes ------------------------------------------------------------------------------

class Person(_Open):
    id: str
    nickname: str
    avatar: str


class Author(_Open):
    participant_id: str | None
    nickname: str
    avatar: str
    staff: bool


class ChatMessage(_Open):
    id: str
    body: str
    at: str
    status: Literal["visible", "held", "hidden"]
    author: Author


class CardProblem(_Open):
    id: str
    type: Literal["vocabulary", "proverb", "math"]
    prompt: str
    choices: list[str] | None
    read_aloud: bool = Field(..., description="pages read the prompt aloud (accessibility)")
    difficulty: int
    grade: int


class Card(_Open):
    card_no: int
    shown_at: str
    closes_at: str
    seconds: int
    problem: CardProblem


class LeaderboardRow(_Open):
    rank: int
    participant_id: str
    nickname: str
    score: int


class Leaderboard(_Open):
    top: list[LeaderboardRow]
    participants: int


class AnswerCount(_Open):
    answer: str
    count: int


class TallyDetail(_Open):
    """Teachers only (and everyone in card_closed): the wrong answers are the misconceptions."""

    card_no: int
    answered: int
    correct: int
    by_answer: list[AnswerCount]


# --- server -> client (room frames, sequenced) ---------------------------------------------------

class SessionSettings(_Open):
    status: Literal["active", "ended", "expired"]
    title: str
    expires_at: str
    seconds_left: int
    locked: bool
    scoring: Literal["speed", "accuracy"]
    chat_mode: Literal["open", "hold", "off"]
    slow_mode_seconds: int
    card_seconds: int
    friendly_nicknames: bool
    approve_arrivals: bool


class SnapshotCard(Card):
    closed: bool
    time_left_ms: int
    answered: bool | None = None


class Snapshot(_Open):
    """After hello: the state as of the frame's `seq`; missed frames follow (or `resync: true` on
    the frame when they are too old: start from this snapshot)."""

    session: SessionSettings
    server_time: str
    chat: list[ChatMessage] = Field(..., description="the latest 50 visible messages (teachers: held ones too)")
    leaderboard: Leaderboard
    card: SnapshotCard | None
    me: dict[str, Any] = Field(..., description='participant: participant_id, nickname, avatar, score, rank, '
                                                'extra_time_seconds; teacher: {"staff": true}')
    participants: list[dict[str, Any]] | None = Field(None, description="teachers only")
    tally: TallyDetail | None = Field(None, description="teachers only, while a card is on show")


class Joined(_Open):
    participant: Person
    rejoined: bool


class Left(_Open):
    participant: Person
    reason: Literal["disconnected", "kicked", "banned"]
    seat_held: bool | None = None


class MessageRef(_Open):
    id: str


class Filtered(ChatMessage):
    reason: str | None


class CardClosed(TallyDetail):
    answer: str
    explanation: str


class Tally(_Open):
    """Everyone: how many have answered (no distribution while the card is open)."""

    card_no: int
    answered: int


class SessionUpdated(_Open):
    changed: list[str]
    session: SessionSettings


class SessionTime(_Open):
    expires_at: str
    seconds_left: int


class SessionEnded(_Open):
    reason: Literal["ended", "expired"]


class Kicked(_Open):
    participant: Person
    banned: bool


class Approved(_Open):
    participant: Person


class ParticipantUpdated(_Open):
    participant: dict[str, Any]


# --- direct replies ---------------------------------------------------------------------------------

class ChatAck(_Open):
    id: str
    status: Literal["visible", "held"]


class AnswerAck(_Open):
    card_no: int
    correct: bool
    points: int
    score: int
    rank: int
    elapsed_ms: int = Field(..., description="server-measured: from the card's shown_at to the answer's arrival")


class Pong(_Open):
    server_time: str


class Error(_Open):
    code: str
    detail: str


SERVER_FRAMES: dict[str, tuple[type[BaseModel], str, str]] = {
    # type: (model, audience, when)
    "snapshot": (Snapshot, "the connecting client", "after hello"),
    "joined": (Joined, "teachers", "a participant joined or reconnected (the lobby on the projector)"),
    "left": (Left, "teachers", "a participant disconnected (seat kept) or was removed"),
    "chat": (ChatMessage, "all (a muted sender: only itself)", "a message passed moderation or was approved"),
    "message_hidden": (MessageRef, "all", "a teacher hid a message"),
    "message_held": (ChatMessage, "teachers", "a message awaits approval (chat_mode hold)"),
    "message_filtered": (Filtered, "teachers", "the language filter stopped a message"),
    "card_shown": (Card, "all", "a teacher showed a card"),
    "card_closed": (CardClosed, "all", "a teacher closed the card: answer, explanation, tally"),
    "tally": (Tally, "all", "answers arrive (at most every 300 ms)"),
    "tally_detail": (TallyDetail, "teachers", "answers arrive (at most every 300 ms)"),
    "leaderboard": (Leaderboard, "all", "after answers and when a card closes"),
    "session_updated": (SessionUpdated, "all", "a teacher changed settings (lock, chat mode, ...)"),
    "session_extended": (SessionTime, "all", "a teacher extended the session"),
    "session_ending": (SessionTime, "all", "two minutes before the session expires"),
    "session_ended": (SessionEnded, "all", "ended or expired; then close 4410"),
    "kicked": (Kicked, "the participant", "removed by a teacher; then close 4403"),
    "approved": (Approved, "the participant", "a teacher let a pending arrival in"),
    "arrival_pending": (Approved, "teachers", "someone joined and awaits approval"),
    "participant_updated": (ParticipantUpdated, "teachers", "mute, extra time or status changed"),
    "chat_ack": (ChatAck, "the sender (direct)", "reply to chat"),
    "answer_ack": (AnswerAck, "the sender (direct)", "reply to answer"),
    "pong": (Pong, "the sender (direct)", "reply to ping (clock offset)"),
    "error": (Error, "the sender (direct)", "a frame was refused; the connection stays open unless a close follows"),
}
