"""Homework: a second code on a session (`homework_code`, until `homework_until`) under which
absent students join, list the session's cards and answer them at their own pace.

- Opening needs a card to work through (409 `classroom.homework_no_cards`); reopening an open
  homework keeps its code (links already shared keep working) and moves its end.
- A homework participant is a row of `participants` with mode `homework` and a participant token
  of mode `homework` that expires when the homework closes; the row and the homework are checked on
  every call (closed → 410, kicked/banned → 403). Live tokens are refused here, and the live room
  (Redis tallies, leaderboard, frames) never hears of homework.
- Answers are checked like live ones, scored for accuracy (1,000 if correct), and stored through
  the same group-commit writer (its unique key refuses a second answer; its outbox row carries
  mode `homework`). The expected answer and explanation come back once answered."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.zones import Zone, registry
from services.classroom import participant_tokens
from services.classroom.cards.queries import AnswerRow
from services.classroom.homework import queries
from services.classroom.homework.schemas import HomeworkJoinIn
from services.classroom.moderation.service import moderator_for
from services.classroom.participant_tokens import ParticipantClaims
from services.classroom.participants import service as participants
from services.classroom.participants.nicknames import clean_nickname
from services.classroom.participants.queries import ParticipantRow
from services.classroom.problems.checking import check_answer
from services.classroom.reports import queries as card_queries
from services.classroom.reports.queries import CardWithProblem, StoredAnswer
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import codes
from services.classroom.sessions import queries as session_queries
from services.classroom.sessions import service as sessions
from services.classroom.sessions.queries import SessionRow
from services.classroom.typed_text import clean_typed

POINTS = 1000
JOIN_URL = "https://app.{domain}/homework/{code}"
NO_CARDS = (409, "classroom.homework_no_cards", "The session never showed a card")
NOT_FOUND = (404, "classroom.homework_not_found", "No homework has this code")
CLOSED = (410, "classroom.homework_closed", "The homework is closed")
HOMEWORK_ONLY = (403, "classroom.homework_only", "Only a homework participant token works here")
CARD_NOT_FOUND = (404, "classroom.card_not_found", "The session has no such card")
ANSWERED = (409, "classroom.already_answered", "You have answered this card")
CODE_UNAVAILABLE = (503, "classroom.code_unavailable", "No free homework code could be drawn; try again")


def join_url(zone_id: int, code: str) -> str:
    return JOIN_URL.format(domain=registry().zone_by_id(zone_id).domains[0], code=code)


def is_open(row: SessionRow) -> bool:
    """One rule for "open" (sessions.open_homework_of), shared with the staff's SessionOut. The homework
    fields of the Redis copy of a session row (sessions.publish_state) are not republished on open or
    close: read them from PostgreSQL, as everything here does."""
    return sessions.open_homework_of(row) is not None


# ------------------------------------------------------------------------------------------------
# The teacher's side


async def open_homework(res: Resources, principal: Principal, session_id: uuid.UUID, days: int) -> SessionRow:
    await sessions.load_for_staff(res, principal, session_id)
    until = sessions.now() + dt.timedelta(days=days)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        row = await session_queries.get(s, session_id, lock=True)
        if row is None:
            raise sessions.not_found(session_id)
        if await queries.card_count(s, session_id) == 0:
            raise AppError(409, "classroom.homework_no_cards", "the session never showed a card; show one first")
        updated: SessionRow | None
        if row.homework_code is not None:
            updated = await session_queries.update(s, session_id, {"homework_until": until})
        else:
            updated = await codes.with_fresh_code(s, "idx_session_homework_code", lambda code: session_queries.update(
                s, session_id, {"homework_code": code, "homework_until": until}))
        if updated is None:
            raise AppError(*CODE_UNAVAILABLE)
        await session_queries.add_log(s, updated, "homework_opened", {"by": str(principal.user_id),
                                                                      "until": until.isoformat()})
    return updated


async def close_homework(res: Resources, principal: Principal, session_id: uuid.UUID) -> None:
    await sessions.load_for_staff(res, principal, session_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        row = await session_queries.get(s, session_id, lock=True)
        if row is None:
            raise sessions.not_found(session_id)
        if row.homework_code is not None:
            row = await session_queries.update(s, session_id, {"homework_code": None, "homework_until": None})
            await session_queries.add_log(s, row, "homework_closed", {"by": str(principal.user_id)})


# ------------------------------------------------------------------------------------------------
# The student's side


async def for_code(res: Resources, zone: Zone, raw_code: str) -> tuple[SessionRow, int]:
    """The session of an open homework code in this zone and its number of cards: 404 unknown, 410 closed."""
    code = codes.normalize_code(raw_code)
    if code is None:
        raise AppError(*NOT_FOUND)
    async with tenant_transaction(res.db(), participants.guest_ctx(zone.id)) as s:
        await session_queries.set_code_context(s, code)
        row = await queries.by_homework_code(s, code)
    if row is None:
        raise AppError(*NOT_FOUND)
    if not is_open(row):
        raise AppError(410, "classroom.homework_closed", "this homework is closed")
    async with tenant_transaction(res.db(), participants.guest_ctx(row.zone_id, row.org_id)) as s:
        return row, await queries.card_count(s, row.id)


@dataclass(frozen=True)
class Joined:
    participant: ParticipantRow
    session: SessionRow
    token: str
    cards: int


async def join(res: Resources, st: ClassroomState, zone: Zone, raw_code: str, body: HomeworkJoinIn,
               address: str) -> Joined:
    await participants.limit_joins(res, st, zone, "homework", codes.normalize_code(raw_code) or "invalid", address)
    session, cards = await for_code(res, zone, raw_code)
    assert session.homework_until is not None and session.homework_code is not None
    nickname, key = clean_nickname(body.nickname, await moderator_for(res, session.zone_id, session.org_id))
    try:
        row = await participants.take_seat(res, session, nickname, key, body.avatar, status="active", mode="homework")
    except participants.NicknameTaken:
        raise participants.nickname_taken() from None
    token = participant_tokens.issue(
        res.settings.secret_key,
        ParticipantClaims(zone_id=row.zone_id, org_id=row.org_id, session_id=session.id, participant_id=row.id,
                          mode="homework"),
        session.homework_until)
    return Joined(row, session, token, cards)


async def resolve(res: Resources, token: str) -> tuple[ParticipantRow, SessionRow]:
    """A homework participant's token -> its row and session: 401 bad token, 403 a live token (or a
    removed participant), 410 the homework closed since."""
    claims, row, session = await participants.resolve(res, token)
    if claims.mode != "homework" or row.mode != "homework":
        raise AppError(403, "classroom.homework_only",
                       "these endpoints are for homework participants; live participants answer in the session")
    if not is_open(session):
        raise AppError(410, "classroom.homework_closed", "this homework is closed")
    return row, session


async def cards(res: Resources, token: str) -> tuple[SessionRow, list[tuple[CardWithProblem, StoredAnswer | None]]]:
    """The session's cards in order, each with the participant's own answer (if any)."""
    row, session = await resolve(res, token)
    async with tenant_transaction(res.db(), participants.guest_ctx(session.zone_id, session.org_id)) as s:
        shown = await card_queries.cards_with_problems(s, session.id)
        mine = {a.card_no: a for a in await card_queries.answers_of(s, session.id, row.id)}
    return session, [(c, mine.get(c.card_no)) for c in shown if c.prompt is not None and not _on_show(c, session)]


def _on_show(card: CardWithProblem, session: SessionRow) -> bool:
    """The card the live class is answering now: never homework (its answer would leak)."""
    return card.closed_at is None and session.live_status(sessions.now()) == "active"


@dataclass(frozen=True)
class Checked:
    card_no: int
    correct: bool
    points: int
    answer: str
    explanation: str


async def answer(res: Resources, st: ClassroomState, token: str, card_no: int, given: str) -> Checked:
    row, session = await resolve(res, token)
    async with tenant_transaction(res.db(), participants.guest_ctx(session.zone_id, session.org_id)) as s:
        card = await card_queries.card_with_problem(s, session.id, card_no)
    if card is None or card.type is None or card.answer is None or _on_show(card, session):
        raise AppError(404, "classroom.card_not_found", f"the session has no card {card_no} to work on")
    given = clean_typed(given)
    if not given:
        raise AppError(422, "request.invalid", "an answer needs a visible character")
    checked = check_answer(card.type, card.answer, given, card.choices)
    points = POINTS if checked.correct else 0
    stored = AnswerRow(zone_id=session.zone_id, org_id=session.org_id, session_id=session.id, card_no=card_no,
                       participant_id=row.id, answer=given, correct=checked.correct, points=points, elapsed_ms=0,
                       mode="homework", answered_at=sessions.now())
    assert st.writer is not None, "started by the runtime's on_start hook"
    if not await st.writer.store(stored):
        raise AppError(409, "classroom.already_answered", "you have answered this card")
    return Checked(card_no, checked.correct, points, card.answer, card.explanation or "")
