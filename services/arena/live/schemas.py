"""The arena WebSocket protocol, version 1, as pydantic models: what each frame's `data` holds.

Every server frame is `{"v":1,"seq":N,"type":T,"data":...}` (frames of the player's room,
replayable after a reconnect) or `{"v":1,"type":T,"ref":R,"data":...}` (direct replies).
`SERVER_FRAMES` and `CLIENT_FRAMES` map each type to its model; asyncapi.yaml is generated from
them (`python -m services.arena.live.asyncapi`), and the tests validate every frame they receive
against them, so the document, the models and the wire cannot drift apart. Features publishing a
frame (`live.service.publish_to_user`) send data of the frame's model here.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
Verdict = Literal["correct", "partial", "wrong", "pending", "timeout"]
Mode = Literal["ranked", "casual", "practice"]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """Server data may grow new fields in a minor change; clients ignore what they do not know."""

    model_config = ConfigDict(extra="allow")


# --- client -> server ---------------------------------------------------------------------------

class Hello(_Frame):
    """First frame, within 10 s. `token`: the platform access token (role with `arena:play`).
    `last_seq`: the last `seq` received before a drop (null: fresh)."""

    token: str = Field(..., min_length=1, max_length=4096)
    last_seq: int | None = Field(None, ge=0)


class AnswerIn(_Frame):
    """An answer to the round on show; the first answer of a player to a round is final."""

    match_id: str = Field(..., min_length=36, max_length=36)
    round: int = Field(..., ge=1, le=20)
    answer: str = Field(..., min_length=1, max_length=2000)


class ForfeitIn(_Frame):
    match_id: str = Field(..., min_length=36, max_length=36)


class Ping(_Frame):
    pass


CLIENT_FRAMES: dict[str, type[BaseModel]] = {"hello": Hello, "answer": AnswerIn, "forfeit": ForfeitIn, "ping": Ping}


# --- shared shapes ------------------------------------------------------------------------------

class Question(_Open):
    """A question as players see it during the round: never its answer."""

    id: str
    type: Literal["mc", "short", "free"]
    content: str
    choices: list[str] | None
    difficulty: int


class Seat(_Open):
    seat: int
    kind: Literal["human", "bot", "ghost"]
    user_id: str | None
    nickname: str | None = None
    rating: float | None = None
    score: int
    correct: int


class RoundAnswer(_Open):
    seat: int
    answer: str
    verdict: Verdict
    points: int
    elapsed_ms: int


class QueueStatus(_Open):
    """Written by matchmaking: where the player stands in the queue."""

    status: Literal["idle", "queued", "matched"]
    mode: Literal["ranked", "casual"] | None = None
    topic: str | None = None
    since: str | None = None
    waited_seconds: float | None = None


# --- server -> client (room frames, sequenced) ---------------------------------------------------

class MatchFound(_Open):
    match_id: str
    mode: Mode
    topic: str
    opponent_kind: Literal["human", "bot", "ghost"]
    my_seat: int
    seats: list[Seat]
    round_count: int
    round_seconds: int


class RoundStart(_Open):
    match_id: str
    round: int
    round_count: int
    question: Question
    started_at: str
    deadline: str = Field(..., description="answers after it (plus a 250 ms transit grace) are late")
    seconds: int


class OpponentAnswered(_Open):
    match_id: str
    round: int
    seat: int
    elapsed_ms: int


class RoundResult(_Open):
    match_id: str
    round: int
    question_id: str
    answer: str = Field(..., description="the expected answer (free text: the rubric)")
    explanation: str
    answers: list[RoundAnswer]
    seats: list[Seat]
    next_round_at: str | None = Field(..., description="null after the last round (match_result follows)")


class MatchResult(_Open):
    match_id: str
    mode: Mode
    topic: str
    rated: bool
    unrated_reason: str | None
    end_reason: Literal["completed", "forfeit", "disconnect", "aborted"]
    winner_user_id: str | None
    winner_seat: int | None
    seats: list[Seat]
    outcomes: dict[str, Literal["win", "loss", "draw"]] = Field(..., description="seat number -> outcome")
    finished_at: str


class RatingChange(_Open):
    """Written by the rating consumer after a rated result (and refunds/appeals)."""

    match_id: str
    topic: str
    before: float
    after: float
    reason: Literal["match", "refund", "appeal"]


class GradeUpdate(_Open):
    """A free-text answer graded (by the LLM, later) or an appeal decided."""

    match_id: str
    round: int
    seat: int
    verdict: Verdict
    score: float
    points: int | None = Field(None, description="the answer's points now (added to the seat's score)")
    feedback: str = ""
    rubric_hits: list[str] = Field(default_factory=list)


class ActiveRound(_Open):
    round: int
    question: Question | None = Field(..., description="null while the next round has not started")
    started_at: str | None
    deadline: str | None
    time_left_ms: int
    answered: bool
    opponent_answered: bool
    closed: bool


class ActiveMatch(_Open):
    match_id: str
    mode: Mode
    topic: str
    opponent_kind: Literal["human", "bot", "ghost"]
    round_count: int
    round_seconds: int
    my_seat: int
    seats: list[Seat]
    round: ActiveRound | None


class Snapshot(_Open):
    server_time: str
    user_id: str
    queue: QueueStatus | None = Field(..., description="null: matchmaking keeps no queue state for you")
    match: ActiveMatch | None


# --- direct replies --------------------------------------------------------------------------------

class AnswerAck(_Open):
    match_id: str
    round: int
    verdict: Verdict
    points: int
    elapsed_ms: int = Field(..., description="server-measured: from the round's start to the answer's arrival")


class ForfeitAck(_Open):
    match_id: str


class Pong(_Open):
    server_time: str


class Error(_Open):
    code: str
    detail: str


SERVER_FRAMES: dict[str, tuple[type[BaseModel], str, str]] = {
    # type: (model, audience, when)
    "snapshot": (Snapshot, "the connecting client", "after hello: queue status and the active match"),
    "queue_status": (QueueStatus, "the player", "joined, waiting in or left a matchmaking queue"),
    "match_found": (MatchFound, "both players", "a match was created (paired, ghost or practice)"),
    "round_start": (RoundStart, "both players", "a round begins: the question and its deadline"),
    "opponent_answered": (OpponentAnswered, "the other player", "the opponent answered (not what)"),
    "round_result": (RoundResult, "both players", "both answered or the deadline passed"),
    "match_result": (MatchResult, "both players", "the last round closed, or a forfeit"),
    "rating_change": (RatingChange, "the player", "a rated result (or a refund/appeal) was applied"),
    "grade_update": (GradeUpdate, "the player", "a pending free-text answer was graded, or an appeal decided"),
    "answer_ack": (AnswerAck, "the sender (direct)", "reply to answer"),
    "forfeit_ack": (ForfeitAck, "the sender (direct)", "reply to forfeit"),
    "pong": (Pong, "the sender (direct)", "reply to ping (clock offset)"),
    "error": (Error, "the sender (direct)", "a frame was refused; the connection stays open unless a close follows"),
}
