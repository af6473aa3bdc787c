"""HTTP: /api/v1/arena/matches — start a practice match against the bot, read a match (its
players and moderators), list my matches. Ranked and casual matches come from the queue
(matchmaking); playing happens over the WebSocket (/api/v1/arena/ws)."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from megacity.auth import org_scope
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.pagination import INVALID_CURSOR
from megacity.runtime import ResourcesDep
from services.arena.matches import rounds, service
from services.arena.matches.queries import MatchRow
from services.arena.matches.schemas import AnswerOut, MatchList, MatchOut, PracticeIn, RoundOut, SeatOut
from services.arena.permissions import MODERATE, PLAY

router = APIRouter(prefix="/api/v1/arena/matches", tags=["matches"])
Player = Annotated[Principal, Depends(require(PLAY))]
Reader = Annotated[Principal, Depends(require(PLAY, MODERATE))]
DENIED = org_scope.DENIED
BAD_CURSOR = (400, INVALID_CURSOR, "The cursor is not one this listing returned")


def match_out(m: MatchRow, detail: dict[str, Any] | None = None) -> MatchOut:
    out = MatchOut(**{k: getattr(m, k) for k in MatchOut.model_fields if hasattr(m, k)})
    if detail is None:
        return out
    out.seats = [SeatOut(**{k: getattr(x, k) for k in SeatOut.model_fields}) for x in detail["seats"]]
    out.rounds = [RoundOut(
        round=r.round_no, question_id=r.question_id, content=qn.content if qn else None,
        type=qn.type if qn else None, choices=qn.choices if qn else None,
        expected=(qn.answer if qn.type != "free" else qn.rubric) if qn and r.closed_at else None,
        started_at=r.started_at, deadline=r.deadline, closed_at=r.closed_at,
        answers=[AnswerOut(**{k: getattr(a, k) for k in AnswerOut.model_fields}) for a in answers] if r.closed_at
        else []) for r, qn, answers in detail["rounds"]]
    return out


@router.post("/practice", status_code=201, response_model=MatchOut, summary="Practice against the bot",
             description="A practice match (never rated) against a bot playing at your rating (or `bot_rating`): "
                         "random questions of the topic, or your notebook's wrong answers first. You get "
                         "`match_found`, then `round_start` over the WebSocket after a short pause.",
             responses=problems(DENIED, service.IN_MATCH, service.QUEUED, service.NO_QUESTIONS, service.BAD_TOPIC))
async def practice(body: PracticeIn, principal: Player, res: ResourcesDep, request: Request) -> MatchOut:
    seat = service.Seat(principal.user_id, principal.org_id, client_address=request.client.host if request.client else None)
    m = await service.create_practice_match(res, principal.zone_id, seat, body.topic, body.source,
                                            float(body.bot_rating) if body.bot_rating else None)
    return match_out(m)


@router.get("", response_model=MatchList, summary="My matches",
            description="Newest first, `limit` per page; pass `next_cursor` back as `cursor` for the next page.",
            responses=problems(DENIED, BAD_CURSOR))
async def my_matches(principal: Player, res: ResourcesDep, cursor: str | None = Query(None, max_length=2048),
                     limit: int = Query(20, ge=1, le=100)) -> MatchList:
    rows, next_cursor = await service.list_mine(res, principal, cursor, limit)
    return MatchList(items=[match_out(m) for m in rows], next_cursor=next_cursor)


@router.get("/{match_id}", response_model=MatchOut, summary="One match",
            description="Its players, or a moderator (`arena:moderate`; an org admin for matches of its org's "
                        "players). Rounds played so far; a round's expected answer and both answers once it closed.",
            responses=problems(DENIED, rounds.NOT_FOUND))
async def get_match(match_id: uuid.UUID, principal: Reader, res: ResourcesDep) -> MatchOut:
    detail = await service.get_for(res, principal, match_id)
    return match_out(detail["match"], detail)
