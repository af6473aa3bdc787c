"""Creating matches (paired humans, practice against the bot, a ghost replay) and reading them.

`create_match` is what matchmaking calls on a pair; it draws the questions both players may see
(zone-shared ones, plus their org's when both are of one org; ones either saw recently only when
nothing else is left), writes the match, its seats (`active`: the unique index keeps a player
in one active match) and its rounds, and schedules round 1 after `round_gap_seconds`.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.arena.matches import frames, rounds
from services.arena.matches import queries as q
from services.arena.matches.queries import MatchRow
from services.arena.matches.rounds import Effects, deliver, engine_ctx, settings_of
from services.arena.matchmaking import service as queue
from services.arena.notebook import service as notebook
from services.arena.permissions import MODERATE
from services.arena.players import service as players

IN_MATCH = (409, "arena.in_match", "A player is already in an active match")
NO_QUESTIONS = (409, "arena.not_enough_questions", "Not enough questions both players may see for this topic")
QUEUED = (409, "arena.already_queued", "You are waiting in a queue; leave it before practising")
BAD_TOPIC = (422, "arena.invalid_topic", "A topic is '' (all) or a category id")
RECENT_DAYS = 14
BOT_RATING = 1500.0
MATCHES_KEYSET = Keyset("arena.matches", created_at=dt.datetime, id=uuid.UUID)


@dataclass(frozen=True, slots=True)
class Seat:
    """A human player taking a seat: who, of which org (question visibility), and the address
    they play from (fair play's related-account check)."""

    user_id: uuid.UUID
    org_id: uuid.UUID | None
    rating: float | None = None  # the rating it was paired by; None: its overall rating
    client_address: str | None = None


def topic_id(topic: str) -> uuid.UUID | None:
    if not topic:
        return None
    try:
        return uuid.UUID(topic)
    except ValueError:
        raise AppError(*BAD_TOPIC) from None


async def _seat_human(s: AsyncSession, zone_id: int, match_id: uuid.UUID, seat_no: int, seat: Seat) -> None:
    await players.ensure_player(s, zone_id, seat.user_id, seat.org_id)
    rating = seat.rating if seat.rating is not None else await q.rating_of(s, zone_id, seat.user_id)
    try:
        async with s.begin_nested():
            await q.insert_seat(s, zone_id, match_id, seat_no, "human", seat.user_id, seat.org_id,
                                rating if rating is not None else 1500.0, seat.client_address)
    except IntegrityError:
        raise AppError(*IN_MATCH, extra={"user_id": str(seat.user_id)}) from None


async def _start(res: Resources, zone_id: int, mode: str, topic: str, opponent_kind: str, humans: list[Seat],
                 pick: Any, *, rated: bool = False, synthetic: tuple[str, float] | None = None,
                 ghost: tuple[uuid.UUID, int] | None = None, unrated_reason: str | None = None) -> MatchRow:
    """One transaction: the match, its seats and rounds (questions from `pick(session)`); then
    `match_found` to the humans and round 1's timer."""
    st = settings_of(res)
    fx = Effects(zone_id)
    async with tenant_transaction(res.db(), engine_ctx(zone_id)) as s:
        question_ids: list[uuid.UUID] = await pick(s)
        m = await q.insert_match(s, zone_id, mode, topic, opponent_kind, len(question_ids), st.round_seconds, rated,
                                 ghost[0] if ghost else None, ghost[1] if ghost else None, unrated_reason)
        for i, seat in enumerate(humans):
            await _seat_human(s, zone_id, m.id, i, seat)
        if synthetic is not None:
            await q.insert_seat(s, zone_id, m.id, 1, synthetic[0], None, None, synthetic[1], None)
        due = rounds.now() + dt.timedelta(seconds=st.round_gap_seconds)
        await q.insert_rounds(s, zone_id, m.id, question_ids, due)
        seated = await q.seats(s, m.id)
        for row in seated:
            if row.user_id is not None:
                fx.frames.append((row.user_id, "match_found", frames.match_found(m, seated, row.seat)))
        fx.timers.append((due, "announce", m.id, 1, -1))
    await deliver(res, fx)
    return m


async def create_match(res: Resources, zone_id: int, mode: str, topic: str, seats: list[Seat]) -> MatchRow:
    """A ranked or casual match between two humans (matchmaking's pair). Ranked matches are rated
    unless fair play says otherwise at the end; free-text questions only count in ranked matches
    once the LLM grader's measured agreement allows it (`free_text_rated_kappa`)."""
    st = settings_of(res)
    tid = topic_id(topic)
    shared_org = seats[0].org_id if len({x.org_id for x in seats}) == 1 else None
    with_free = mode != "ranked" or st.free_text_rated_kappa >= st.free_text_min_kappa

    async def pick(s: AsyncSession) -> list[uuid.UUID]:
        ids = await q.draw_questions(s, zone_id, [x.user_id for x in seats], shared_org, tid, st.round_count,
                                     with_free, RECENT_DAYS)
        if len(ids) < st.round_count:
            raise AppError(*NO_QUESTIONS)
        return ids

    return await _start(res, zone_id, mode, topic, "human", seats, pick, rated=mode == "ranked")


async def create_practice_match(res: Resources, zone_id: int, seat: Seat, topic: str = "", source: str = "random",
                                bot_rating: float | None = None) -> MatchRow:
    """Practice against the bot (never rated): random questions of the topic, or the player's
    notebook first ("practice these"), topped up with random ones."""
    st = settings_of(res)
    tid = topic_id(topic)
    if await queue.is_queued(res, zone_id, seat.user_id):
        raise AppError(*QUEUED)

    async def pick(s: AsyncSession) -> list[uuid.UUID]:
        ids: list[uuid.UUID] = []
        if source == "notebook":
            wanted = await notebook.practice_question_ids(s, zone_id, seat.user_id, st.round_count)
            ids = await q.visible_questions(s, zone_id, list(wanted), seat.org_id, True)
        if len(ids) < st.round_count:
            more = await q.draw_questions(s, zone_id, [seat.user_id], seat.org_id, tid, st.round_count * 2, True,
                                          RECENT_DAYS)
            ids += [i for i in more if i not in ids][:st.round_count - len(ids)]
        if not ids:
            raise AppError(*NO_QUESTIONS)
        return ids

    async def rating(s: AsyncSession) -> float:
        return await q.rating_of(s, zone_id, seat.user_id) or BOT_RATING

    if bot_rating is None:
        async with tenant_transaction(res.db(), engine_ctx(zone_id)) as s:
            bot_rating = await rating(s)
    return await _start(res, zone_id, "practice", topic, "bot", [seat], pick, synthetic=("bot", bot_rating),
                        unrated_reason="practice")


async def create_ghost_match(res: Resources, zone_id: int, mode: str, topic: str, seat: Seat) -> MatchRow | None:
    """Nobody to pair with: a replay of a past human match's player (nearest rating) on the same
    questions, with that player's answers and times. Never rated. None when there is no past
    match to replay (yet)."""
    st = settings_of(res)
    async with tenant_transaction(res.db(), engine_ctx(zone_id)) as s:
        rating = seat.rating or await q.rating_of(s, zone_id, seat.user_id) or BOT_RATING
        source = await q.ghost_source(s, zone_id, seat.user_id, seat.org_id, topic, rating, st.round_count)
        if source is None:
            return None
        ghost_rating = next((x.rating_before for x in await q.seats(s, source[0]) if x.seat == source[1]), None)

    async def pick(s: AsyncSession) -> list[uuid.UUID]:
        return [r.question_id for r in await q.rounds(s, source[0])]

    return await _start(res, zone_id, mode, topic, "ghost", [seat], pick, synthetic=("ghost", ghost_rating or rating),
                        ghost=source, unrated_reason="ghost")


# --- reading ------------------------------------------------------------------------------------------

async def get_for(res: Resources, principal: Principal, match_id: uuid.UUID) -> dict[str, Any]:
    """A match as a participant or a moderator sees it: seats, and the rounds played so far (the
    round on show without its answer)."""
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        m = await q.get_match(s, match_id)
        seats = await q.seats(s, match_id) if m is not None else []
        if m is None or not _may_see(principal, seats):
            raise AppError(*rounds.NOT_FOUND)
        played = await q.rounds(s, match_id)
        answers = await q.answers(s, match_id)
        shown = []
        for r in played:
            if r.announced_at is None:
                continue
            question = await q.question(s, r.question_id)
            shown.append((r, question, [a for a in answers if a.round_no == r.round_no]))
    return {"match": m, "seats": seats, "rounds": shown}


def _may_see(principal: Principal, seats: list[q.SeatRow]) -> bool:
    if any(x.user_id == principal.user_id for x in seats):
        return True
    if not principal.can(MODERATE):
        return False
    return principal.org_id is None or any(x.org_id == principal.org_id for x in seats)


async def list_mine(res: Resources, principal: Principal, cursor: str | None,
                    limit: int) -> tuple[list[MatchRow], str | None]:
    after = MATCHES_KEYSET.decode(cursor, res.settings.secret_key)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        rows = await q.mine(s, principal.zone_id, principal.user_id, after, limit + 1)
    return MATCHES_KEYSET.page(rows, limit, res.settings.secret_key)
