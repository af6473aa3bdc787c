"""SQL of matches, seats, rounds and round answers (schema `arena`). Every engine transaction
locks the match row first (`lock_match`), so answers, round closes, announcements and forfeits of
one match are serialised in one order and never deadlock."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class MatchRow:
    id: uuid.UUID
    zone_id: int
    mode: str
    topic: str
    opponent_kind: str
    ghost_of: uuid.UUID | None
    ghost_seat: int | None
    status: str
    round_count: int
    round_seconds: int
    current_round: int
    rated: bool
    unrated_reason: str | None
    winner_user_id: uuid.UUID | None
    end_reason: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SeatRow:
    seat: int
    kind: str
    user_id: uuid.UUID | None
    org_id: uuid.UUID | None
    rating_before: float | None
    score: int
    correct: int
    outcome: str | None
    forfeited: bool
    disconnected_at: dt.datetime | None
    nickname: str | None


@dataclass(frozen=True, slots=True)
class RoundRow:
    round_no: int
    question_id: uuid.UUID
    started_at: dt.datetime | None
    deadline: dt.datetime | None
    closed_at: dt.datetime | None
    announced_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AnswerRow:
    round_no: int
    seat: int
    user_id: uuid.UUID | None
    question_id: uuid.UUID
    answer: str
    elapsed_ms: int
    verdict: str
    score: float
    points: int
    feedback: str


@dataclass(frozen=True, slots=True)
class QuestionRow:
    """A question as the engine needs it (grading takes the same attribute names as the table)."""

    id: uuid.UUID
    org_id: uuid.UUID | None
    type: str
    content: str
    choices: list[str] | None
    answer: str
    aliases: list[str]
    rubric: str
    explanation: str
    difficulty: int
    rating: float
    rd: float


_MATCH_COLS = ("id, zone_id, mode, topic, opponent_kind, ghost_of, ghost_seat, status, round_count, round_seconds,"
               " current_round, rated, unrated_reason, winner_user_id, end_reason, created_at, finished_at")


_ANSWER_COLS = "round_no, seat, user_id, question_id, answer, elapsed_ms, verdict, score, points, feedback"


def _match(r: Any) -> MatchRow:
    return MatchRow(**r._mapping)


async def insert_match(s: AsyncSession, zone_id: int, mode: str, topic: str, opponent_kind: str, round_count: int,
                       round_seconds: int, rated: bool, ghost_of: uuid.UUID | None = None,
                       ghost_seat: int | None = None, unrated_reason: str | None = None) -> MatchRow:
    r = (await s.execute(text(
        "INSERT INTO arena.matches (zone_id, mode, topic, opponent_kind, round_count, round_seconds, rated,"
        " ghost_of, ghost_seat, unrated_reason) VALUES (:z, :mode, :topic, :kind, :n, :secs, :rated, :ghost_of,"
        f" :ghost_seat, :reason) RETURNING {_MATCH_COLS}"),
        {"z": zone_id, "mode": mode, "topic": topic, "kind": opponent_kind, "n": round_count, "secs": round_seconds,
         "rated": rated, "ghost_of": ghost_of, "ghost_seat": ghost_seat, "reason": unrated_reason})).one()
    return _match(r)


async def insert_seat(s: AsyncSession, zone_id: int, match_id: uuid.UUID, seat: int, kind: str,
                      user_id: uuid.UUID | None, org_id: uuid.UUID | None, rating: float | None,
                      client_address: str | None) -> None:
    await s.execute(text(
        "INSERT INTO arena.match_players (zone_id, match_id, seat, kind, user_id, org_id, rating_before,"
        " client_address, active) VALUES (:z, :m, :seat, :kind, :u, :o, :r, :addr, :active)"),
        {"z": zone_id, "m": match_id, "seat": seat, "kind": kind, "u": user_id, "o": org_id, "r": rating,
         "addr": client_address, "active": user_id is not None})


async def insert_rounds(s: AsyncSession, zone_id: int, match_id: uuid.UUID, question_ids: list[uuid.UUID],
                        first_due: dt.datetime) -> None:
    """The rounds in play order; the questions' rows are key-share locked in id order first, the
    order the rating consumer locks them in (no deadlock)."""
    await s.execute(text("SELECT 1 FROM arena.questions WHERE id = ANY(CAST(:qs AS uuid[])) ORDER BY id FOR KEY SHARE"),
                    {"qs": question_ids})
    await s.execute(text(
        "INSERT INTO arena.match_rounds (zone_id, match_id, round_no, question_id, started_at)"
        " SELECT :z, :m, n, q, CASE WHEN n = 1 THEN CAST(:due AS timestamptz) END"
        " FROM unnest(CAST(:qs AS uuid[])) WITH ORDINALITY AS t(q, n)"),
        {"z": zone_id, "m": match_id, "qs": question_ids, "due": first_due})


async def rating_of(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> float | None:
    """The player's overall rating (topic ''), None before the first rated game."""
    return (await s.execute(text("SELECT rating FROM arena.ratings WHERE zone_id = :z AND user_id = :u AND topic = ''"),
                            {"z": zone_id, "u": user_id})).scalar_one_or_none()


async def draw_questions(s: AsyncSession, zone_id: int, users: list[uuid.UUID], org_id: uuid.UUID | None,
                         topic_id: uuid.UUID | None, n: int, with_free: bool, recent_days: int) -> list[uuid.UUID]:
    """`n` random questions both players may see (zone-shared, plus `org_id`'s when given), of the
    topic's category subtree; questions either player answered in the last `recent_days` only
    when nothing else is left."""
    rows = await s.execute(text(
        "WITH RECURSIVE tree AS (SELECT id FROM arena.categories WHERE id = CAST(:topic AS uuid)"
        "  UNION ALL SELECT c.id FROM arena.categories c JOIN tree ON c.parent_id = tree.id)"
        " SELECT q.id FROM arena.questions q WHERE q.zone_id = :z"
        " AND (q.org_id IS NULL OR q.org_id = CAST(:org AS uuid)) AND (:free OR q.type <> 'free')"
        " AND (CAST(:topic AS uuid) IS NULL OR EXISTS (SELECT 1 FROM arena.question_categories qc"
        "      WHERE qc.question_id = q.id AND qc.category_id IN (SELECT id FROM tree)))"
        " ORDER BY EXISTS (SELECT 1 FROM arena.round_answers ra WHERE ra.zone_id = :z AND ra.question_id = q.id"
        "   AND ra.user_id = ANY(CAST(:users AS uuid[])) AND ra.answered_at > now() - make_interval(days => :days)),"
        " random() LIMIT :n"),
        {"z": zone_id, "org": org_id, "free": with_free, "topic": topic_id, "users": users, "days": recent_days,
         "n": n})
    return [r[0] for r in rows]


async def visible_questions(s: AsyncSession, zone_id: int, ids: list[uuid.UUID], org_id: uuid.UUID | None,
                            with_free: bool) -> list[uuid.UUID]:
    """Those of `ids` (in order) a player of `org_id` may see."""
    rows = await s.execute(text(
        "SELECT q.id FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS t(id, n) JOIN arena.questions q"
        " ON q.id = t.id WHERE q.zone_id = :z AND (q.org_id IS NULL OR q.org_id = CAST(:org AS uuid))"
        " AND (:free OR q.type <> 'free') ORDER BY t.n"),
        {"ids": ids, "z": zone_id, "org": org_id, "free": with_free})
    return [r[0] for r in rows]


async def ghost_source(s: AsyncSession, zone_id: int, user_id: uuid.UUID, org_id: uuid.UUID | None, topic: str,
                       rating: float, round_count: int) -> tuple[uuid.UUID, int] | None:
    """A finished, completed human match of the topic that `user_id` did not play, every question of
    which the player may see: (match id, the seat whose rating was nearest to `rating`)."""
    r = (await s.execute(text(
        "SELECT m.id, mp.seat FROM arena.matches m JOIN arena.match_players mp ON mp.match_id = m.id"
        " WHERE m.zone_id = :z AND m.status = 'finished' AND m.end_reason = 'completed'"
        " AND m.opponent_kind = 'human' AND m.topic = :topic AND m.round_count = :n AND mp.kind = 'human'"
        " AND NOT EXISTS (SELECT 1 FROM arena.match_players me WHERE me.match_id = m.id AND me.user_id = :u)"
        " AND NOT EXISTS (SELECT 1 FROM arena.match_rounds r JOIN arena.questions q ON q.id = r.question_id"
        "   WHERE r.match_id = m.id AND q.org_id IS NOT NULL AND q.org_id IS DISTINCT FROM CAST(:org AS uuid))"
        " ORDER BY abs(coalesce(mp.rating_before, 1500) - :rating), m.finished_at DESC, mp.seat LIMIT 1"),
        {"z": zone_id, "u": user_id, "org": org_id, "topic": topic, "rating": rating, "n": round_count})).first()
    return (r[0], int(r[1])) if r else None


async def lock_match(s: AsyncSession, match_id: uuid.UUID) -> MatchRow | None:
    r = (await s.execute(text(f"SELECT {_MATCH_COLS} FROM arena.matches WHERE id = :m FOR UPDATE"),
                         {"m": match_id})).first()
    return _match(r) if r else None


async def get_match(s: AsyncSession, match_id: uuid.UUID) -> MatchRow | None:
    r = (await s.execute(text(f"SELECT {_MATCH_COLS} FROM arena.matches WHERE id = :m"), {"m": match_id})).first()
    return _match(r) if r else None


async def active_match_of(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> MatchRow | None:
    r = (await s.execute(text(
        f"SELECT {', '.join('m.' + c.strip() for c in _MATCH_COLS.split(','))} FROM arena.match_players mp"
        " JOIN arena.matches m ON m.id = mp.match_id WHERE mp.zone_id = :z AND mp.user_id = :u AND mp.active"),
        {"z": zone_id, "u": user_id})).first()
    return _match(r) if r else None


async def seats(s: AsyncSession, match_id: uuid.UUID) -> list[SeatRow]:
    rows = await s.execute(text(
        "SELECT mp.seat, mp.kind, mp.user_id, mp.org_id, mp.rating_before, mp.score, mp.correct, mp.outcome,"
        " mp.forfeited, mp.disconnected_at, p.nickname FROM arena.match_players mp"
        " LEFT JOIN arena.players p ON p.zone_id = mp.zone_id AND p.user_id = mp.user_id"
        " WHERE mp.match_id = :m ORDER BY mp.seat"), {"m": match_id})
    return [SeatRow(**r._mapping) for r in rows]


async def rounds(s: AsyncSession, match_id: uuid.UUID) -> list[RoundRow]:
    rows = await s.execute(text(
        "SELECT round_no, question_id, started_at, deadline, closed_at, announced_at FROM arena.match_rounds"
        " WHERE match_id = :m ORDER BY round_no"), {"m": match_id})
    return [RoundRow(**r._mapping) for r in rows]


async def round_of(s: AsyncSession, match_id: uuid.UUID, round_no: int) -> RoundRow | None:
    r = (await s.execute(text(
        "SELECT round_no, question_id, started_at, deadline, closed_at, announced_at FROM arena.match_rounds"
        " WHERE match_id = :m AND round_no = :n"), {"m": match_id, "n": round_no})).first()
    return RoundRow(**r._mapping) if r else None


_SEAT_COLS = ("seat", "kind", "user_id", "org_id", "rating_before", "score", "correct", "outcome", "forfeited",
              "disconnected_at")
_ROUND_COLS = ("round_no", "question_id", "started_at", "deadline", "closed_at", "announced_at")
_QUESTION_COLS = ("org_id", "type", "content", "choices", "answer", "aliases", "rubric", "explanation", "difficulty",
                  "rating", "rd")


async def lock_for_answer(s: AsyncSession, match_id: uuid.UUID, round_no: int
                          ) -> tuple[MatchRow, list[SeatRow], tuple[RoundRow, QuestionRow] | None] | None:
    """The answer path's reads in one round trip: the match (locked), its seats, and the round
    with its question (None when there is no such round)."""
    cols = ", ".join([*(f"m.{c.strip()} AS m_{c.strip()}" for c in _MATCH_COLS.split(",")),
                      *(f"mp.{c} AS s_{c}" for c in _SEAT_COLS), "p.nickname AS s_nickname",
                      *(f"r.{c} AS r_{c}" for c in _ROUND_COLS), *(f"q.{c} AS q_{c}" for c in _QUESTION_COLS)])
    rows = (await s.execute(text(
        f"SELECT {cols} FROM arena.matches m JOIN arena.match_players mp ON mp.match_id = m.id"
        " LEFT JOIN arena.players p ON p.zone_id = mp.zone_id AND p.user_id = mp.user_id"
        " LEFT JOIN arena.match_rounds r ON r.match_id = m.id AND r.round_no = :n"
        " LEFT JOIN arena.questions q ON q.id = r.question_id"
        " WHERE m.id = :m ORDER BY mp.seat FOR UPDATE OF m"), {"m": match_id, "n": round_no})).all()
    if not rows:
        return None
    v = rows[0]._mapping
    match = MatchRow(**{c.strip(): v[f"m_{c.strip()}"] for c in _MATCH_COLS.split(",")})
    seats = [SeatRow(**{c: r._mapping[f"s_{c}"] for c in (*_SEAT_COLS, "nickname")}) for r in rows]
    if v["r_round_no"] is None or v["q_type"] is None:
        return match, seats, None
    return match, seats, _round_and_question(v)


async def round_with_question(s: AsyncSession, match_id: uuid.UUID, round_no: int
                              ) -> tuple[RoundRow, QuestionRow] | None:
    """A round and its question in one round trip (timers, the sweeper, the grader)."""
    cols = ", ".join([*(f"r.{c} AS r_{c}" for c in _ROUND_COLS), *(f"q.{c} AS q_{c}" for c in _QUESTION_COLS)])
    r = (await s.execute(text(
        f"SELECT {cols} FROM arena.match_rounds r JOIN arena.questions q ON q.id = r.question_id"
        " WHERE r.match_id = :m AND r.round_no = :n"), {"m": match_id, "n": round_no})).first()
    return None if r is None else _round_and_question(r._mapping)


def _round_and_question(v: Any) -> tuple[RoundRow, QuestionRow]:
    rnd = RoundRow(**{c: v[f"r_{c}"] for c in _ROUND_COLS})
    return rnd, QuestionRow(id=rnd.question_id, **{c: v[f"q_{c}"] for c in _QUESTION_COLS})


async def answers(s: AsyncSession, match_id: uuid.UUID, round_no: int | None = None) -> list[AnswerRow]:
    rows = await s.execute(text(
        f"SELECT {_ANSWER_COLS} FROM arena.round_answers WHERE match_id = :m"
        " AND (CAST(:n AS smallint) IS NULL OR round_no = :n)"
        " ORDER BY round_no, seat"), {"m": match_id, "n": round_no})
    return [AnswerRow(**r._mapping) for r in rows]


async def question(s: AsyncSession, question_id: uuid.UUID) -> QuestionRow | None:
    r = (await s.execute(text(
        "SELECT id, org_id, type, content, choices, answer, aliases, rubric, explanation, difficulty, rating, rd"
        " FROM arena.questions WHERE id = :q"), {"q": question_id})).first()
    return QuestionRow(**r._mapping) if r else None


async def insert_answer(s: AsyncSession, zone_id: int, match_id: uuid.UUID, round_no: int, seat: int,
                        user_id: uuid.UUID | None, question_id: uuid.UUID, answer: str, answered_at: dt.datetime,
                        elapsed_ms: int, verdict: str, score: float, points: int, grader: str,
                        feedback: str = "", rubric_hits: list[str] | None = None) -> tuple[bool, list[AnswerRow]]:
    """Store an answer once (primary key match, round, seat): (stored?, the round's answers now,
    by seat). One statement; exact because the caller holds the match's lock."""
    rows = (await s.execute(text(
        "WITH ins AS (INSERT INTO arena.round_answers (zone_id, match_id, round_no, seat, user_id, question_id, answer,"
        " answered_at, elapsed_ms, verdict, score, points, grader, feedback, rubric_hits) VALUES (:z, :m, :n,"
        " :seat, :u, :q, :a, :at, :ms, :v, :score, :pts, :grader, :fb, CAST(:hits AS jsonb))"
        f" ON CONFLICT (match_id, round_no, seat) DO NOTHING RETURNING {_ANSWER_COLS})"
        f" SELECT true AS new, {_ANSWER_COLS} FROM ins UNION ALL SELECT false, {_ANSWER_COLS} FROM arena.round_answers"
        " WHERE match_id = :m AND round_no = :n ORDER BY seat"),
        {"z": zone_id, "m": match_id, "n": round_no, "seat": seat, "u": user_id, "q": question_id, "a": answer,
         "at": answered_at, "ms": elapsed_ms, "v": verdict, "score": score, "pts": points, "grader": grader,
         "fb": feedback, "hits": json.dumps(rubric_hits or [])})).all()
    stored = any(r.new for r in rows)
    return stored, [AnswerRow(**{k: v for k, v in r._mapping.items() if k != "new"}) for r in rows]


async def grade_answer(s: AsyncSession, match_id: uuid.UUID, round_no: int, seat: int, verdict: str, score: float,
                       points: int, rubric_hits: list[str], feedback: str) -> bool:
    """A pending answer's grade (False when it is no longer pending: graded or appealed meanwhile)."""
    r = await s.execute(text(
        "UPDATE arena.round_answers SET verdict = :v, score = :score, points = :pts, grader = 'llm',"
        " rubric_hits = CAST(:hits AS jsonb), feedback = :fb WHERE match_id = :m AND round_no = :n AND seat = :seat"
        " AND verdict = 'pending' RETURNING seat"),
        {"v": verdict, "score": score, "pts": points, "hits": json.dumps(rubric_hits), "fb": feedback, "m": match_id,
         "n": round_no, "seat": seat})
    return r.first() is not None


async def pending_answers(s: AsyncSession, zone_id: int, older_than: dt.datetime,
                          limit: int) -> list[tuple[uuid.UUID, int, int]]:
    """Free-text answers still waiting for the grader (match, round, seat), oldest first."""
    rows = await s.execute(text(
        "SELECT match_id, round_no, seat FROM arena.round_answers WHERE zone_id = :z AND verdict = 'pending'"
        " AND answered_at < :before ORDER BY answered_at LIMIT :lim"), {"z": zone_id, "before": older_than, "lim": limit})
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


async def announce(s: AsyncSession, match_id: uuid.UUID, round_no: int, now: dt.datetime,
                   seconds: int) -> RoundRow | None:
    """Start a due round exactly once: its real start and deadline (None if already announced)."""
    r = (await s.execute(text(
        "UPDATE arena.match_rounds SET announced_at = :now, started_at = :now,"
        " deadline = CAST(:now AS timestamptz) + make_interval(secs => :secs)"
        " WHERE match_id = :m AND round_no = :n AND announced_at IS NULL AND closed_at IS NULL"
        " RETURNING round_no, question_id, started_at, deadline, closed_at, announced_at"),
        {"m": match_id, "n": round_no, "now": now, "secs": seconds})).first()
    return RoundRow(**r._mapping) if r else None


async def close_round(s: AsyncSession, match_id: uuid.UUID, round_no: int, now: dt.datetime,
                      next_due: dt.datetime | None, answers: list[AnswerRow]) -> None:
    """Close the round and add its answers' points to the seats; with `next_due`, make the next
    round current and due then. One statement."""
    await s.execute(text(
        "WITH closed AS (UPDATE arena.match_rounds SET closed_at = :now WHERE match_id = :m AND round_no = :n"
        " RETURNING round_no),"
        " scored AS (UPDATE arena.match_players mp SET score = mp.score + u.p, correct = mp.correct + u.c"
        "  FROM unnest(CAST(:seats AS smallint[]), CAST(:pts AS int[]), CAST(:cs AS int[])) AS u(seat, p, c)"
        "  WHERE mp.match_id = :m AND mp.seat = u.seat RETURNING mp.seat),"
        " due AS (UPDATE arena.match_rounds SET started_at = :due WHERE CAST(:due AS timestamptz) IS NOT NULL"
        "  AND match_id = :m AND round_no = :n + 1 RETURNING round_no)"
        " UPDATE arena.matches SET current_round = :n + 1 WHERE CAST(:due AS timestamptz) IS NOT NULL AND id = :m"),
        {"m": match_id, "n": round_no, "now": now, "due": next_due, "seats": [a.seat for a in answers],
         "pts": [a.points for a in answers], "cs": [int(a.verdict == "correct") for a in answers]})


async def add_scores(s: AsyncSession, match_id: uuid.UUID, seats: list[int], points: list[int],
                     correct: list[int]) -> None:
    await s.execute(text(
        "UPDATE arena.match_players mp SET score = mp.score + u.p, correct = mp.correct + u.c"
        " FROM unnest(CAST(:seats AS smallint[]), CAST(:pts AS int[]), CAST(:cs AS int[])) AS u(seat, p, c)"
        " WHERE mp.match_id = :m AND mp.seat = u.seat"), {"m": match_id, "seats": seats, "pts": points, "cs": correct})


async def finish_match(s: AsyncSession, match_id: uuid.UUID, now: dt.datetime, end_reason: str,
                       winner: uuid.UUID | None, rated: bool, unrated_reason: str | None,
                       outcomes: dict[int, str], forfeited: int | None) -> MatchRow:
    """End the match in one statement: the open round closed, each seat's outcome (seats leave
    `active`: the players may play again), the match finished."""
    r = (await s.execute(text(
        "WITH closed AS (UPDATE arena.match_rounds SET closed_at = :now WHERE match_id = :m AND closed_at IS NULL"
        "  AND announced_at IS NOT NULL RETURNING round_no),"
        " seated AS (UPDATE arena.match_players mp SET outcome = u.o, forfeited = u.seat = :lost, active = false"
        "  FROM unnest(CAST(:seats AS smallint[]), CAST(:os AS text[])) AS u(seat, o)"
        "  WHERE mp.match_id = :m AND mp.seat = u.seat RETURNING mp.seat)"
        " UPDATE arena.matches SET status = 'finished', finished_at = :now, end_reason = :why, winner_user_id = :w,"
        f" rated = :rated, unrated_reason = :reason WHERE id = :m RETURNING {_MATCH_COLS}"),
        {"m": match_id, "now": now, "why": end_reason, "w": winner, "rated": rated, "reason": unrated_reason,
         "seats": list(outcomes), "os": list(outcomes.values()), "lost": -1 if forfeited is None else forfeited}
    )).one()
    return _match(r)


async def set_unrated(s: AsyncSession, match_id: uuid.UUID, reason: str) -> MatchRow:
    r = (await s.execute(text(
        f"UPDATE arena.matches SET rated = false, unrated_reason = :r WHERE id = :m RETURNING {_MATCH_COLS}"),
        {"m": match_id, "r": reason})).one()
    return _match(r)


async def mark_disconnected(s: AsyncSession, zone_id: int, user_id: uuid.UUID, at: dt.datetime | None) -> None:
    """Record (at) or clear (None) a player's disconnect in its active match."""
    await s.execute(text(
        "UPDATE arena.match_players SET disconnected_at = :at WHERE zone_id = :z AND user_id = :u AND active"),
        {"z": zone_id, "u": user_id, "at": at})


async def overdue(s: AsyncSession, zone_id: int, now: dt.datetime, close_before: dt.datetime,
                  announce_before: dt.datetime, forfeit_before: dt.datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Active matches with work a replica should have done (locked, skipping those being worked
    on): a round past its deadline ('close'), a round due but not announced ('announce'), a player
    disconnected for longer than the grace ('forfeit')."""
    rows = await s.execute(text(
        "SELECT m.id, CASE WHEN EXISTS (SELECT 1 FROM arena.match_players mp WHERE mp.match_id = m.id"
        "   AND mp.active AND mp.disconnected_at < :fb) THEN 'forfeit'"
        "  WHEN r.announced_at IS NULL THEN 'announce' ELSE 'close' END"
        " FROM arena.matches m JOIN arena.match_rounds r ON r.match_id = m.id AND r.round_no = m.current_round"
        " WHERE m.zone_id = :z AND m.status = 'active' AND r.closed_at IS NULL AND ("
        "  (r.announced_at IS NOT NULL AND r.deadline < :cb) OR (r.announced_at IS NULL AND r.started_at < :ab)"
        "  OR EXISTS (SELECT 1 FROM arena.match_players mp WHERE mp.match_id = m.id AND mp.active"
        "   AND mp.disconnected_at < :fb))"
        " ORDER BY m.created_at LIMIT :lim FOR UPDATE OF m SKIP LOCKED"),
        {"z": zone_id, "cb": close_before, "ab": announce_before, "fb": forfeit_before, "lim": limit})
    return [(r[0], r[1]) for r in rows]


async def mine(s: AsyncSession, zone_id: int, user_id: uuid.UUID, after: tuple[Any, ...] | None,
               limit: int) -> list[MatchRow]:
    rows = await s.execute(text(
        f"SELECT {', '.join('m.' + c.strip() for c in _MATCH_COLS.split(','))} FROM arena.match_players mp"
        " JOIN arena.matches m ON m.id = mp.match_id WHERE mp.zone_id = :z AND mp.user_id = :u"
        " AND (CAST(:at AS timestamptz) IS NULL OR (m.created_at, m.id) < (CAST(:at AS timestamptz), CAST(:id AS uuid)))"
        " ORDER BY m.created_at DESC, m.id DESC LIMIT :lim"),
        {"z": zone_id, "u": user_id, "at": after[0] if after else None, "id": after[1] if after else None,
         "lim": limit})
    return [_match(r) for r in rows]
