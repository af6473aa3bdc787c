"""Problem cards in a live session: the teacher shows a card (a chosen problem, or the next one
rotated by grade/difficulty/type) and closes it; participants answer over the WebSocket
(services/classroom/live/answers.py). `shown_at`/`closes_at` are stamped here, by the server."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.classroom import live_state
from services.classroom.cards import queries
from services.classroom.cards.schemas import CardIn
from services.classroom.cards.tally import Tallies
from services.classroom.problems import queries as problem_queries
from services.classroom.problems.checking import check_answer
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import queries as session_queries
from services.classroom.sessions import service as sessions
from services.classroom.sessions.queries import SessionRow

GRACE_MS = 250
# The card on show in Redis only moves forward, and a close touches only the card it closes: a
# close of card N racing the show of card N+1 (or two shows) cannot leave the wrong card live.
# KEYS[1] the card hash. ARGV: card_no, ttl, field/value pairs.
_SHOW = """
local current = tonumber(redis.call('HGET', KEYS[1], 'card_no') or '0')
if tonumber(ARGV[1]) <= current then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
# KEYS[1] the card hash. ARGV: card_no.
_CLOSE = """
if redis.call('HGET', KEYS[1], 'card_no') == ARGV[1] then redis.call('HSET', KEYS[1], 'closed', '1') return 1 end
return 0
"""
NO_PROBLEM = (404, "classroom.problem_not_found", "No such problem in your org, or none matches the rotation")
NO_CARD = (409, "classroom.no_card", "No card is on show")


def card_frame(card: queries.CardRow, problem: Any) -> dict[str, Any]:
    """What participants see of a card: never the answer."""
    return {"card_no": card.card_no, "shown_at": card.shown_at.isoformat(), "closes_at": card.closes_at.isoformat(),
            "seconds": round((card.closes_at - card.shown_at).total_seconds()),
            "problem": {"id": str(problem.id), "type": problem.type, "prompt": problem.prompt,
                        "choices": problem.choices, "read_aloud": problem.read_aloud,
                        "difficulty": problem.difficulty, "grade": problem.grade}}


async def show(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID,
               body: CardIn) -> dict[str, Any]:
    session = await sessions.load_for_staff(res, principal, session_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        locked = await session_queries.get(s, session_id, lock=True)
        if locked is None or locked.live_status(sessions.now()) != "active":
            raise sessions.gone(locked or session)
        if body.problem_id is not None:
            problem = await problem_queries.get_problem(s, body.problem_id)
        else:
            used = [c.problem_id for c in await queries.cards_of(s, session_id)]
            r = body.rotate
            picked = await problem_queries.pick_problems(
                s, session.zone_id, session.org_id, session.class_id, r.grade if r else None,
                r.difficulty if r else None, r.type if r else None, used, 1)
            problem = picked[0] if picked else None
        if problem is None or problem.org_id != session.org_id or problem.zone_id != session.zone_id \
                or (problem.class_id is not None and problem.class_id != session.class_id):
            raise AppError(*NO_PROBLEM)
        shown = sessions.now()
        seconds = body.seconds or problem.time_limit_seconds or locked.card_seconds
        await queries.close_open(s, session_id, shown)
        card_no = await queries.next_card_no(s, session_id)
        card = await queries.insert_card(s, session.zone_id, session.org_id, session_id, card_no, problem.id, shown,
                                         shown + dt.timedelta(seconds=seconds))
        await session_queries.add_log(s, session, "card_shown", {"card_no": card_no, "problem_id": str(problem.id)})
    lk = _keys(res, session)
    fields = {"card_no": card_no, "problem_id": str(problem.id), "type": problem.type,
              "shown_ms": live_state.ms(card.shown_at), "closes_ms": live_state.ms(card.closes_at),
              "expected": problem.answer, "choices": json.dumps(problem.choices) if problem.choices else "",
              "frame": json.dumps(card_frame(card, problem)), "closed": "0"}
    await res.redis.eval(_SHOW, 1, lk.card, card_no, live_state.TTL_SECONDS, *[x for kv in fields.items() for x in kv])
    frame = card_frame(card, problem)
    await st.log().publish(lk.room, "card_shown", frame)
    return frame


async def close(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID) -> dict[str, Any]:
    session = await sessions.load_for_staff(res, principal, session_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        closed = await queries.close_open(s, session_id, sessions.now())
        card = await queries.current_card(s, session_id)
        problem = await problem_queries.get_problem(s, card.problem_id) if card else None
    if not closed or card is None:
        raise AppError(*NO_CARD)
    lk = _keys(res, session)
    expected = await res.redis.hget(lk.card, "expected")
    await res.redis.eval(_CLOSE, 1, lk.card, card.card_no)
    tallies = Tallies(res.redis)
    await _reconcile(res, principal, session, card, problem.type if problem else None, expected, tallies, lk)
    # The problem may have been deleted since it was shown: the card keeps its own answer.
    result = {**await tallies.card(lk, card.card_no),
              "answer": problem.answer if problem else (expected or ""),
              "explanation": problem.explanation if problem else ""}
    await st.log().publish(lk.room, "card_closed", result)
    await st.log().publish(lk.room, "leaderboard", await tallies.leaderboard(lk))
    return result


async def _reconcile(res: Resources, principal: Principal, session: SessionRow, card: queries.CardRow,
                     problem_type: str | None, expected: str | None, tallies: Tallies,
                     lk: live_state.LiveKeys) -> None:
    """At close, the live tally must equal the stored answers; rebuild it (and the scores) from
    the database when it does not."""
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        stored = await queries.answer_counts(s, session.id, card.card_no)
        live = await tallies.card(lk, card.card_no)
        if live["answered"] == stored["answered"] or problem_type is None or expected is None:
            return
        answers = await queries.live_answers(s, session.id, card.card_no)
        scores = await queries.live_scores(s, session.id)
    choices = json.loads(await res.redis.hget(lk.card, "choices") or "null")
    await tallies.rebuild(lk, card.card_no,
                          [(check_answer(problem_type, expected, a, choices).normalized, c) for a, c in answers], scores)


def _keys(res: Resources, session: SessionRow) -> live_state.LiveKeys:
    return live_state.LiveKeys(res.keys, live_state.room_of(session.zone_id, session.org_id, session.id))


async def tally(res: Resources, principal: Principal, session_id: uuid.UUID, card_no: int) -> dict[str, Any]:
    """The live tally next to what is stored: the two agree once answers have settled."""
    session = await sessions.load_for_staff(res, principal, session_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        stored = await queries.answer_counts(s, session_id, card_no)
    return {**await Tallies(res.redis).card(_keys(res, session), card_no), "stored": stored}
