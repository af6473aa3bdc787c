"""The round engine: announce a round, take answers, close the round (both answered, or its
deadline passed), finish the match, forfeit.

Exactly once across replicas: every step runs in one transaction that first locks the match
row (`queries.lock_match`), then re-checks the state it acts on (round announced? closed? the
current one?). Two answers arriving at once on two replicas are serialised by that lock: the
second transaction sees the first answer, finds both seats answered and closes the round; the
first did not. Frames are published after the commit, so nobody hears of a step that rolled back.

Timers: the replica that announces a round sleeps until its deadline (plus the transit grace)
and closes it, and plays the bot's/ghost's answer at its planned time; the replica that closes a
round announces the next after `round_gap_seconds`. If that replica dies, the sweeper
(matches.sweeper) of any replica does the overdue step (`FOR UPDATE SKIP LOCKED`).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.realtime.protocol import frame_body
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.arena.fairplay import service as fairplay
from services.arena.grading.service import Verdict, grade_exact
from services.arena.live import service as live
from services.arena.matches import bots, frames, free_text
from services.arena.matches import queries as q
from services.arena.matches.queries import MatchRow, QuestionRow, RoundRow, SeatRow
from services.arena.notebook import service as notebook
from services.arena.settings import ArenaSettings

log = get_logger("arena.matches")

NOT_FOUND = (404, "arena.not_found", "No such match, or it is not yours")
ROUND_CLOSED = (409, "arena.round_closed", "That round is not open for answers (closed, not started, or not current)")
ANSWERED = (409, "arena.already_answered", "You already answered this round")
MATCH_OVER = (409, "arena.match_over", "The match has ended")
PENDING = Verdict("pending", 0.0, "none")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ms(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds() * 1000))


def engine_ctx(zone_id: int) -> TenantContext:
    """The engine acts for the zone (both players, the bot, the sweeper): zone-level rows, and the
    notebooks of both players."""
    return TenantContext(zone_id=zone_id, role="zone_admin")


def settings_of(res: Resources) -> ArenaSettings:
    return live.state_for(res).settings


@dataclass
class Effects:
    """What a committed step makes happen: frames to players, and timers on this replica."""

    zone_id: int
    frames: list[tuple[uuid.UUID, str, dict[str, Any]]] = field(default_factory=list)
    timers: list[tuple[dt.datetime, str, uuid.UUID, int, int]] = field(default_factory=list)
    # Rounds closed by this step: their deadline timers on this replica have nothing left to do.
    closed: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    # Free-text answers stored pending: graded by the LLM after the commit.
    grade: list[tuple[uuid.UUID, int, int]] = field(default_factory=list)

    def to_humans(self, seats: list[SeatRow], type_: str, data: dict[str, Any],
                  skip_seat: int | None = None) -> None:
        for seat in seats:
            if seat.user_id is not None and seat.seat != skip_seat:
                self.frames.append((seat.user_id, type_, data))


# Deadline timers of open rounds on this replica: (id of the Resources, match, round) -> task.
_DEADLINES: dict[tuple[int, uuid.UUID, int], asyncio.Task[Any]] = {}


async def deliver(res: Resources, fx: Effects) -> None:
    """After the commit: first the timers (and drop the deadline timers of the rounds this step
    closed), so the match goes on whatever happens to the frames; then the frames, in order per
    player, each encoded once however many players get it. A frame Redis refuses is lost, not
    the committed step: it is logged, and the client's snapshot after a reconnect has the state."""
    for match_id, round_no in fx.closed:
        timer = _DEADLINES.pop((id(res), match_id, round_no), None)
        if timer is not None:
            timer.cancel()
    for match_id, round_no, seat in fx.grade:
        live.spawn(res, free_text.grade_pending(res, fx.zone_id, match_id, round_no, seat))
    for at, kind, match_id, round_no, seat in fx.timers:
        task = live.spawn(res, _timer(res, at, kind, fx.zone_id, match_id, round_no, seat))
        if kind == "close":
            _DEADLINES[(id(res), match_id, round_no)] = task
    bodies: dict[int, str] = {}
    by_user: dict[uuid.UUID, list[str]] = {}
    for user_id, type_, data in fx.frames:
        body = bodies.get(id(data))
        if body is None:
            body = bodies[id(data)] = frame_body(type_, data)
        by_user.setdefault(user_id, []).append(body)

    async def publish(user_id: uuid.UUID, items: list[str]) -> None:
        for body in items:  # one player's frames in order; the players' side by side
            await live.publish_body_to_user(res, fx.zone_id, user_id, body)

    failed = await asyncio.gather(*(publish(u, items) for u, items in by_user.items()), return_exceptions=True)
    for exc in failed:
        if isinstance(exc, Exception):
            log.warning("arena frames not published", extra={"zone_id": fx.zone_id, "error": str(exc)[:300]})


async def _timer(res: Resources, at: dt.datetime, kind: str, zone_id: int, match_id: uuid.UUID, round_no: int,
                 seat: int) -> None:
    await asyncio.sleep(max(0.0, (at - now()).total_seconds()))
    if kind == "close":  # awake: no longer cancellable by `deliver` (it may be mid-transaction from here)
        _DEADLINES.pop((id(res), match_id, round_no), None)
    try:
        if kind == "announce":
            await announce_round(res, zone_id, match_id, round_no)
        elif kind == "close":
            await close_due(res, zone_id, match_id, round_no)
        else:
            await synthetic_answer(res, zone_id, match_id, round_no, seat)
    except Exception:  # the sweeper does the step if this replica could not
        log.exception("arena round timer failed", extra={"kind": kind, "match_id": str(match_id)})


# --- announce -------------------------------------------------------------------------------------

async def announce_round(res: Resources, zone_id: int, match_id: uuid.UUID, round_no: int) -> None:
    fx = Effects(zone_id)
    async with tenant_transaction(res.db(), engine_ctx(zone_id)) as s:
        locked = await q.lock_for_answer(s, match_id, round_no)
        if locked is not None and locked[0].status == "active" and locked[0].current_round == round_no \
                and locked[2] is not None:
            await announce_locked(s, fx, settings_of(res), locked[0], locked[1], locked[2][1])
    await deliver(res, fx)


async def announce_locked(s: AsyncSession, fx: Effects, st: ArenaSettings, m: MatchRow,
                          seats: list[SeatRow] | None = None, question: QuestionRow | None = None) -> None:
    """Start the match's current round (the match row locked): `round_start` to the players, the
    deadline timer, the bot's/ghost's answer timer. `seats`/`question`: already read under the lock."""
    r = await q.announce(s, m.id, m.current_round, now(), m.round_seconds)
    if r is None:
        return
    assert r.started_at is not None and r.deadline is not None
    seats = seats if seats is not None else await q.seats(s, m.id)
    question = question if question is not None else await _question(s, r)
    fx.to_humans(seats, "round_start", frames.round_start(m, r, question))
    fx.timers.append((r.deadline + dt.timedelta(milliseconds=st.answer_grace_ms), "close", m.id, r.round_no, -1))
    for seat in seats:
        if seat.user_id is None:
            plan = await plan_for(s, m, seat, r, question)
            if plan is not None:
                fx.timers.append((r.started_at + dt.timedelta(milliseconds=plan.elapsed_ms), "synthetic", m.id,
                                  r.round_no, seat.seat))


async def _question(s: AsyncSession, r: RoundRow) -> QuestionRow:
    question = await q.question(s, r.question_id)
    assert question is not None, "match_rounds.question_id references arena.questions"
    return question


async def plan_for(s: AsyncSession, m: MatchRow, seat: SeatRow, r: RoundRow, question: QuestionRow
                   ) -> bots.Planned | None:
    """The bot's or ghost's answer to this round (None: it lets the round time out)."""
    limit = m.round_seconds * 1000
    if seat.kind == "ghost" and m.ghost_of is not None and m.ghost_seat is not None:
        past = [a for a in await q.answers(s, m.ghost_of, r.round_no) if a.seat == m.ghost_seat]
        if not past or past[0].verdict == "timeout" or past[0].elapsed_ms >= limit:
            return None
        return bots.Planned(past[0].answer, past[0].verdict, past[0].score, past[0].elapsed_ms)
    wrong = [c for c in (question.choices or []) if grade_exact(question, c) != Verdict("correct", 1.0, "exact")]
    q_rating = bots.question_rating(question.rating, question.rd, question.difficulty)
    right = question.answer if question.type != "free" else question.rubric[:200] or question.answer
    return bots.bot_answer(m.id, r.round_no, seat.rating_before or 1500.0, q_rating, question.difficulty, limit,
                           right, wrong)


# --- answers ----------------------------------------------------------------------------------------

async def answer(res: Resources, zone_id: int, user_id: uuid.UUID, match_id: uuid.UUID, round_no: int,
                 given: str) -> dict[str, Any]:
    """A player's answer -> the `answer_ack` data. Stored once (primary key match, round, seat),
    graded exactly inline (free text: `pending`, graded later), timed by the server."""
    received = now()
    st = settings_of(res)
    fx = Effects(zone_id)
    async with tenant_transaction(res.db(), engine_ctx(zone_id)) as s:
        locked = await q.lock_for_answer(s, match_id, round_no)
        m, seats, found = locked if locked is not None else (None, [], None)
        me = next((x for x in seats if x.user_id == user_id), None)
        if m is None or me is None:
            raise AppError(*NOT_FOUND)
        grace = dt.timedelta(milliseconds=st.answer_grace_ms)
        if (found is None or m.status != "active" or m.current_round != round_no or found[0].announced_at is None
                or found[0].closed_at is not None or found[0].deadline is None or found[0].started_at is None
                or received > found[0].deadline + grace):
            raise AppError(*ROUND_CLOSED)
        r, question = found
        assert r.started_at is not None
        verdict = grade_exact(question, given) or PENDING
        elapsed = min(ms(received - r.started_at), m.round_seconds * 1000)
        pts = bots.points(verdict.score, elapsed, m.round_seconds * 1000, round_no == m.round_count)
        stored, answers = await q.insert_answer(s, zone_id, m.id, round_no, me.seat, user_id, question.id, given,
                                                received, elapsed, verdict.verdict, verdict.score, pts, verdict.grader,
                                                verdict.feedback, verdict.rubric_hits)
        if not stored:
            raise AppError(*ANSWERED)
        if verdict is PENDING:
            fx.grade.append((m.id, round_no, me.seat))
        fx.to_humans(seats, "opponent_answered",
                     {"match_id": str(m.id), "round": round_no, "seat": me.seat, "elapsed_ms": elapsed},
                     skip_seat=me.seat)
        if len(answers) == len(seats):
            await close_locked(s, fx, st, m, r, received, seats, question, answers)
    await deliver(res, fx)
    return {"match_id": str(match_id), "round": round_no, "verdict": verdict.verdict, "points": pts,
            "elapsed_ms": elapsed}


async def synthetic_answer(res: Resources, zone_id: int, match_id: uuid.UUID, round_no: int, seat_no: int) -> None:
    """The bot's or ghost's answer, at its planned time."""
    fx = Effects(zone_id)
    async with tenant_transaction(res.db(), engine_ctx(zone_id)) as s:
        m = await q.lock_match(s, match_id)
        found = await q.round_with_question(s, match_id, round_no) if m is not None else None
        if m is None or found is None or m.status != "active" or m.current_round != round_no \
                or found[0].closed_at is not None or found[0].started_at is None:
            return
        r, question = found
        assert r.started_at is not None
        seats = await q.seats(s, match_id)
        seat = seats[seat_no]
        plan = await plan_for(s, m, seat, r, question)
        if plan is None:
            return
        pts = bots.points(plan.score, plan.elapsed_ms, m.round_seconds * 1000, round_no == m.round_count)
        at = r.started_at + dt.timedelta(milliseconds=plan.elapsed_ms)
        stored, answers = await q.insert_answer(s, zone_id, m.id, round_no, seat.seat, None, r.question_id,
                                                plan.answer, at, plan.elapsed_ms, plan.verdict, plan.score, pts, "none")
        if stored:
            fx.to_humans(seats, "opponent_answered", {"match_id": str(m.id), "round": round_no, "seat": seat.seat,
                                                      "elapsed_ms": plan.elapsed_ms})
            if len(answers) == len(seats):
                await close_locked(s, fx, settings_of(res), m, r, now(), seats, question, answers)
    await deliver(res, fx)


# --- closing a round ----------------------------------------------------------------------------------

async def close_due(res: Resources, zone_id: int, match_id: uuid.UUID, round_no: int) -> None:
    """The round's deadline (plus grace) passed: close it unless an answer already did."""
    fx = Effects(zone_id)
    async with tenant_transaction(res.db(), engine_ctx(zone_id)) as s:
        m = await q.lock_match(s, match_id)
        if m is not None and m.status == "active" and m.current_round == round_no:
            await close_overdue_locked(s, fx, settings_of(res), m)
    await deliver(res, fx)


async def close_overdue_locked(s: AsyncSession, fx: Effects, st: ArenaSettings, m: MatchRow) -> None:
    found = await q.round_with_question(s, m.id, m.current_round)
    t = now()
    if found is None:
        return
    r, question = found
    if (r.closed_at is None and r.deadline is not None
            and r.deadline + dt.timedelta(milliseconds=st.answer_grace_ms) <= t + dt.timedelta(milliseconds=20)):
        await close_locked(s, fx, st, m, r, t, await q.seats(s, m.id), question)


async def close_locked(s: AsyncSession, fx: Effects, st: ArenaSettings, m: MatchRow, r: RoundRow,
                       at: dt.datetime, seats: list[SeatRow], question: QuestionRow,
                       answers: list[q.AnswerRow] | None = None) -> None:
    """Close round `r` (the match row is locked, the round open; `seats` and `answers` as read
    under the lock): missing answers become the bot's/ghost's plan or a timeout, scores move, then
    the next round is scheduled or the match ends."""
    limit = m.round_seconds * 1000
    if answers is None:
        answers = await q.answers(s, m.id, r.round_no)
    answered = {a.seat for a in answers}
    for seat in seats:
        if seat.seat in answered:
            continue
        plan = await plan_for(s, m, seat, r, question) if seat.user_id is None else None
        if plan is not None and r.started_at is not None:
            pts = bots.points(plan.score, plan.elapsed_ms, limit, r.round_no == m.round_count)
            await q.insert_answer(s, m.zone_id, m.id, r.round_no, seat.seat, None, question.id, plan.answer,
                                  r.started_at + dt.timedelta(milliseconds=plan.elapsed_ms), plan.elapsed_ms,
                                  plan.verdict, plan.score, pts, "none")
        else:
            await q.insert_answer(s, m.zone_id, m.id, r.round_no, seat.seat, seat.user_id, question.id, "", at, limit,
                                  "timeout", 0.0, 0, "none")
    if len(answered) < len(seats):
        answers = await q.answers(s, m.id, r.round_no)
    gained = {a.seat: (a.points, int(a.verdict == "correct")) for a in answers}
    seats = [replace(x, score=x.score + gained.get(x.seat, (0, 0))[0], correct=x.correct + gained.get(x.seat, (0, 0))[1])
             for x in seats]
    last = r.round_no >= m.round_count
    next_due = None if last else at + dt.timedelta(seconds=st.round_gap_seconds)
    await q.close_round(s, m.id, r.round_no, at, next_due, answers)
    fx.closed.append((m.id, r.round_no))
    fx.to_humans(seats, "round_result", frames.round_result(m, r.round_no, question, answers, seats, next_due))
    if next_due is None:
        await finish_locked(s, fx, st, m, seats, "completed", None, at)
    else:
        fx.timers.append((next_due, "announce", m.id, r.round_no + 1, -1))


# --- finishing ---------------------------------------------------------------------------------------

async def finish_locked(s: AsyncSession, fx: Effects, st: ArenaSettings, m: MatchRow, seats: list[SeatRow],
                        end_reason: str, forfeited: int | None, at: dt.datetime) -> MatchRow:
    """The match ends, in the caller's transaction: outcomes, seats released (`active` false),
    rated or not (fair play decides for ranked matches), wrong answers into the players'
    notebooks, `arena.match.finished` in the outbox; `match_result` to both after the commit."""
    outcome = bots.outcomes({x.seat: x.score for x in seats}, forfeited)
    winner = next((x.user_id for x in seats if outcome[x.seat] == "win"), None)
    done = await q.finish_match(s, m.id, at, end_reason, winner, m.rated, m.unrated_reason, outcome, forfeited)
    fx.closed.append((m.id, m.current_round))  # a forfeit ends an open round: its deadline timer goes
    seats = [replace(x, outcome=outcome[x.seat], forfeited=x.seat == forfeited) for x in seats]
    if done.rated:  # fair play reads the finished match (winner, paces) before it is rated
        rated, reason = await fairplay.should_rate(s, m.zone_id, m.id, st)
        if not rated:
            done = await q.set_unrated(s, m.id, reason or "fairplay")
    # in question-id order: the rating consumer locks question rows in that order (no deadlock
    # with the notebook rows' foreign-key locks on the same questions)
    for a in sorted(await q.answers(s, m.id), key=lambda a: (a.question_id, a.seat)):
        if a.user_id is not None and a.verdict == "wrong":
            await notebook.record_wrong(s, m.zone_id, a.user_id, a.question_id, match_id=m.id, answer=a.answer,
                                        feedback=a.feedback)
    await add_event(s, "arena", "arena.match.finished", {
        "match_id": str(m.id), "mode": m.mode, "topic": m.topic, "rated": done.rated,
        "winner_user_id": str(winner) if winner else "", "end_reason": end_reason, "finished_at": at.isoformat(),
        "unrated_reason": done.unrated_reason or ""}, zone_id=m.zone_id)
    fx.to_humans(seats, "match_result", frames.match_result(done, seats))
    return done


async def forfeit(res: Resources, zone_id: int, user_id: uuid.UUID, match_id: uuid.UUID,
                  end_reason: str = "forfeit") -> dict[str, Any]:
    """A player gives up (the `forfeit` frame): the opponent wins now."""
    fx = Effects(zone_id)
    async with tenant_transaction(res.db(), engine_ctx(zone_id)) as s:
        m = await q.lock_match(s, match_id)
        seats = await q.seats(s, match_id) if m is not None else []
        me = next((x for x in seats if x.user_id == user_id), None)
        if m is None or me is None:
            raise AppError(*NOT_FOUND)
        if m.status != "active":
            raise AppError(*MATCH_OVER)
        await finish_locked(s, fx, settings_of(res), m, seats, end_reason, me.seat, now())
    await deliver(res, fx)
    return {"match_id": str(match_id)}


async def forfeit_disconnected_locked(res: Resources, s: AsyncSession, fx: Effects, st: ArenaSettings,
                                      m: MatchRow) -> None:
    """The sweeper's forfeit: the seat that left first, and stayed away longer than the grace,
    loses. A player with a socket open again (a reconnect that raced its `on_leave`) is not gone:
    its disconnect is cleared instead."""
    seats = await q.seats(s, m.id)
    cutoff = now() - dt.timedelta(seconds=st.forfeit_grace_seconds)
    gone = []
    for x in sorted(seats, key=lambda x: x.disconnected_at or cutoff):
        if x.user_id is None or x.disconnected_at is None or x.disconnected_at >= cutoff:
            continue
        if await live.connected(res, m.zone_id, x.user_id):
            await q.mark_disconnected(s, m.zone_id, x.user_id, None)
        else:
            gone.append(x)
    if gone:
        await finish_locked(s, fx, st, m, seats, "disconnect", gone[0].seat, now())
