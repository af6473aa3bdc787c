"""Answers over the WebSocket: checked, scored, stored, counted, acknowledged.

Timing is the server's alone: a card's `shown_at`/`closes_at` were stamped when it was shown, an
answer's time is when it reached a replica (never a client's claim), plus the participant's extra
time and a small transit grace. Speed scoring gives 500–1,000 points to a correct answer by how
early it came; accuracy scoring 1,000 flat. Every answer is stored (group commit) before it is
counted (atomic Redis tally) and acknowledged; the tally and leaderboard go out at most once per
interval per session, whichever replica took the answer."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from megacity.errors import AppError
from megacity.realtime.protocol import TO_ALL, TO_STAFF
from megacity.runtime import Resources
from services.classroom import live_state
from services.classroom.cards.queries import AnswerRow
from services.classroom.cards.tally import Tallies
from services.classroom.problems.checking import check_answer
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import service as sessions
from services.classroom.sessions.queries import SessionRow
from services.classroom.typed_text import clean_typed

GRACE_MS = 250
NO_CARD = (409, "classroom.no_card", "No card is on show")
CLOSED = (409, "classroom.card_closed", "The card is closed (or another card is on show)")
ANSWERED = (409, "classroom.already_answered", "You have answered this card")
INVALID = (422, "classroom.answer_invalid", "An answer is {card_no: int, answer: 1–200 characters}")


def _keys(res: Resources, session: SessionRow) -> live_state.LiveKeys:
    return live_state.LiveKeys(res.keys, live_state.room_of(session.zone_id, session.org_id, session.id))


def points_for(correct: bool, scoring: str, elapsed_ms: int, limit_ms: int) -> int:
    if not correct:
        return 0
    if scoring == "accuracy":
        return 1000
    share = min(1.0, max(0.0, elapsed_ms / max(1, limit_ms)))
    return round(1000 * (1 - share / 2))


async def answer(res: Resources, st: ClassroomState, session: SessionRow, participant_id: uuid.UUID,
                 card_no: Any, given: Any, settings: live_state.LiveSettings) -> dict[str, Any]:
    """A participant's answer over the WebSocket -> the `answer_ack` data (`settings`: the live
    settings the caller has just checked the session is open with)."""
    received_ms = live_state.ms(sessions.now())
    given = clean_typed(given) if isinstance(given, str) else ""
    if not isinstance(card_no, int) or isinstance(card_no, bool) or not 1 <= len(given) <= 200:
        raise AppError(*INVALID)
    lk = _keys(res, session)
    async with res.redis.pipeline(transaction=False) as p:
        p.hgetall(lk.card)
        p.hget(lk.state, f"extra:{participant_id}")
        card_hash, extra = await p.execute()
    if not card_hash:
        raise AppError(*NO_CARD)
    card = live_state.LiveCard.from_hash(card_hash)
    if card.card_no != card_no:
        raise AppError(*CLOSED)
    extra_ms = int(extra or 0) * 1000
    if card.closed or received_ms > card.closes_ms + extra_ms + GRACE_MS:
        raise AppError(*CLOSED)
    checked = check_answer(card.type, card.expected, given, card.choices)
    elapsed = max(0, received_ms - card.shown_ms)
    points = points_for(checked.correct, settings.scoring, elapsed, card.closes_ms - card.shown_ms + extra_ms)
    row = AnswerRow(zone_id=session.zone_id, org_id=session.org_id, session_id=session.id, card_no=card_no,
                    participant_id=participant_id, answer=given, correct=checked.correct, points=points,
                    elapsed_ms=elapsed, mode="live",
                    answered_at=dt.datetime.fromtimestamp(received_ms / 1000, dt.UTC))
    assert st.writer is not None
    if not await st.writer.store(row):
        raise AppError(*ANSWERED)
    score, rank = await Tallies(res.redis).record(lk, card_no, str(participant_id), points, checked.normalized,
                                                  checked.correct)
    schedule_tally(res, st, session, card_no)
    return {"card_no": card_no, "correct": checked.correct, "points": points, "score": score, "rank": rank,
            "elapsed_ms": elapsed}


def schedule_tally(res: Resources, st: ClassroomState, session: SessionRow, card_no: int) -> None:
    """Push the tally and leaderboard once per interval per session, whichever replica got the
    first answer of the interval (a Redis flag, so one push for all replicas)."""
    if session.id in st.tally_pending:  # this replica already pushes this interval's tally
        return
    st.tally_pending.add(session.id)
    task = asyncio.create_task(_push_tally(res, st, session, card_no))
    st.tasks.add(task)
    task.add_done_callback(st.tasks.discard)


async def _push_tally(res: Resources, st: ClassroomState, session: SessionRow, card_no: int) -> None:
    lk = _keys(res, session)
    interval = st.settings.tally_interval_ms
    try:
        if not await res.redis.set(lk.tally_flag, "1", nx=True, px=interval):
            return
        await asyncio.sleep(interval / 1000)
    finally:
        st.tally_pending.discard(session.id)
    tallies = Tallies(res.redis)
    full = await tallies.card(lk, card_no)
    await st.log().publish(lk.room, "tally", {"card_no": card_no, "answered": full["answered"]}, to=TO_ALL)
    await st.log().publish(lk.room, "tally_detail", full, to=TO_STAFF)
    await st.log().publish(lk.room, "leaderboard", await tallies.leaderboard(lk))


