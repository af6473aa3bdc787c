"""A session's report, computed from the stored record (session_cards, problems, participants,
answers): what the teacher reviews after class and what the exports carry. Misconceptions group
the wrong answers by the checker's normalised form, so "2/6" and "1/3", or " Apple " and
"apple", count as one."""
from __future__ import annotations

import uuid
from collections import Counter, defaultdict

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.runtime import Resources
from services.classroom.participants import queries as participant_queries
from services.classroom.problems.checking import check_answer, normalize_text
from services.classroom.reports import queries
from services.classroom.reports.queries import CardWithProblem, StoredAnswer
from services.classroom.reports.schemas import (
    CardReport,
    CardResult,
    Misconception,
    ModeCounts,
    ParticipantReport,
    ReportOut,
    ReportProblem,
    SessionSummary,
)
from services.classroom.sessions import service as sessions

TOP_MISCONCEPTIONS = 5


def accuracy(correct: int, answered: int) -> float | None:
    return round(correct / answered, 4) if answered else None


def normalized(card: CardWithProblem, given: str) -> str:
    """A wrong answer as the checker reads it (the card's type, choices and accepted answers)."""
    if card.type is None or card.answer is None:  # the problem is gone: plain text folding
        return normalize_text(given)
    return check_answer(card.type, card.answer, given, card.choices).normalized


def misconceptions(card: CardWithProblem, answers: list[StoredAnswer]) -> list[Misconception]:
    counts = Counter(normalized(card, a.answer) for a in answers if not a.correct)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_MISCONCEPTIONS]
    return [Misconception(answer=answer, count=n) for answer, n in ranked]


async def report(res: Resources, principal: Principal, session_id: uuid.UUID) -> ReportOut:
    session = await sessions.load_for_staff(res, principal, session_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        cards = await queries.cards_with_problems(s, session_id)
        people = await participant_queries.of_session(s, session_id)
        answers = await queries.answers_of(s, session_id)
    by_card: dict[int, list[StoredAnswer]] = defaultdict(list)
    by_person: dict[uuid.UUID, dict[int, StoredAnswer]] = defaultdict(dict)
    for a in answers:
        by_card[a.card_no].append(a)
        by_person[a.participant_id][a.card_no] = a

    card_reports = []
    for c in cards:
        got = by_card.get(c.card_no, [])
        right = sum(a.correct for a in got)
        card_reports.append(CardReport(
            card_no=c.card_no, problem=ReportProblem(id=c.problem_id, type=c.type, prompt=c.prompt, answer=c.answer),
            shown_at=c.shown_at, closes_at=c.closes_at, answered=len(got), correct=right,
            accuracy=accuracy(right, len(got)), misconceptions=misconceptions(c, got)))

    people_reports = []
    for p in people:
        mine = by_person.get(p.id, {})
        per_card = [CardResult(card_no=c.card_no, answered=c.card_no in mine,
                               correct=mine[c.card_no].correct if c.card_no in mine else None,
                               points=mine[c.card_no].points if c.card_no in mine else 0,
                               elapsed_ms=mine[c.card_no].elapsed_ms if c.card_no in mine else None)
                    for c in cards]
        people_reports.append(ParticipantReport(
            participant_id=p.id, nickname=p.nickname, mode=p.mode, status=p.status,  # type: ignore[arg-type]
            score=sum(a.points for a in mine.values()), answered=len(mine),
            correct=sum(a.correct for a in mine.values()), per_card=per_card))
    people_reports.sort(key=lambda r: -r.score)  # stable: equal scores keep join order

    modes = Counter(p.mode for p in people)
    right = sum(a.correct for a in answers)
    summary = SessionSummary(
        id=session.id, title=session.title, code=session.code, class_id=session.class_id,
        status=session.live_status(sessions.now()),  # type: ignore[arg-type]
        started_at=session.started_at, ended_at=session.ended_at, homework_until=session.homework_until,
        participants=ModeCounts(live=modes["live"], homework=modes["homework"]), cards=len(cards),
        answers=len(answers), correct=right, accuracy=accuracy(right, len(answers)))
    return ReportOut(session=summary, cards=card_reports, participants=people_reports)
