"""The data of match frames (live/schemas.py models), built from rows: one place, so the frames
pushed live, the snapshot after a reconnect and the HTTP views agree."""
from __future__ import annotations

import datetime as dt
from typing import Any

from services.arena.matches.queries import AnswerRow, MatchRow, QuestionRow, RoundRow, SeatRow


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def question_view(q: QuestionRow) -> dict[str, Any]:
    """What players see during a round: never the answer, aliases or rubric."""
    return {"id": str(q.id), "type": q.type, "content": q.content, "choices": q.choices, "difficulty": q.difficulty}


def seat_view(seat: SeatRow) -> dict[str, Any]:
    return {"seat": seat.seat, "kind": seat.kind, "user_id": str(seat.user_id) if seat.user_id else None,
            "nickname": seat.nickname or ("Bot" if seat.kind == "bot" else "Ghost" if seat.kind == "ghost" else None),
            "rating": seat.rating_before, "score": seat.score, "correct": seat.correct}


def answer_view(a: AnswerRow) -> dict[str, Any]:
    return {"seat": a.seat, "answer": a.answer, "verdict": a.verdict, "points": a.points, "elapsed_ms": a.elapsed_ms}


def match_found(m: MatchRow, seats: list[SeatRow], my_seat: int) -> dict[str, Any]:
    return {"match_id": str(m.id), "mode": m.mode, "topic": m.topic, "opponent_kind": m.opponent_kind,
            "my_seat": my_seat, "seats": [seat_view(s) for s in seats], "round_count": m.round_count,
            "round_seconds": m.round_seconds}


def round_start(m: MatchRow, r: RoundRow, q: QuestionRow) -> dict[str, Any]:
    return {"match_id": str(m.id), "round": r.round_no, "round_count": m.round_count, "question": question_view(q),
            "started_at": iso(r.started_at), "deadline": iso(r.deadline), "seconds": m.round_seconds}


def round_result(m: MatchRow, round_no: int, q: QuestionRow, answers: list[AnswerRow], seats: list[SeatRow],
                 next_round_at: dt.datetime | None) -> dict[str, Any]:
    return {"match_id": str(m.id), "round": round_no, "question_id": str(q.id),
            "answer": q.answer if q.type != "free" else q.rubric, "explanation": q.explanation,
            "answers": [answer_view(a) for a in answers], "seats": [seat_view(s) for s in seats],
            "next_round_at": iso(next_round_at)}


def match_result(m: MatchRow, seats: list[SeatRow]) -> dict[str, Any]:
    winner = next((s.seat for s in seats if s.outcome == "win"), None)
    return {"match_id": str(m.id), "mode": m.mode, "topic": m.topic, "rated": m.rated,
            "unrated_reason": m.unrated_reason, "end_reason": m.end_reason,
            "winner_user_id": str(m.winner_user_id) if m.winner_user_id else None, "winner_seat": winner,
            "seats": [{**seat_view(s), "outcome": s.outcome, "forfeited": s.forfeited} for s in seats],
            "outcomes": {str(s.seat): s.outcome for s in seats if s.outcome}, "finished_at": iso(m.finished_at)}
