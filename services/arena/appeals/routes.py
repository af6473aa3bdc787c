"""HTTP: grade appeals — a player appeals an answer (/matches/{id}/rounds/{n}/appeal), lists them
(/appeals: moderators see the ones to decide), a moderator decides (/appeals/{id}/decide)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from megacity.auth import org_scope
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.arena.appeals import service
from services.arena.appeals.queries import AppealRow
from services.arena.appeals.schemas import (
    AppealIn,
    AppealList,
    AppealOut,
    AppealStatus,
    DecisionIn,
    DecisionOut,
    RefundOut,
)
from services.arena.permissions import MODERATE, PLAY

router = APIRouter(prefix="/api/v1/arena", tags=["appeals"])
Player = Annotated[Principal, Depends(require(PLAY))]
Moderator = Annotated[Principal, Depends(require(MODERATE))]


def appeal_out(a: AppealRow) -> AppealOut:
    return AppealOut(id=a.id, match_id=a.match_id, round=a.round_no, seat=a.seat, user_id=a.user_id, reason=a.reason,
                     status=a.status, decided_by=a.decided_by, decided_at=a.decided_at,  # type: ignore[arg-type]
                     created_at=a.created_at)


@router.post("/matches/{match_id}/rounds/{round_no}/appeal", status_code=201, response_model=AppealOut,
             summary="Appeal the grade of your answer",
             description="A wrong or partly right answer of a finished match, once. A moderator decides; an "
                         "overturned grade that turns a rated result gives back the rating difference.",
             responses=problems(org_scope.DENIED, service.NOT_FOUND, service.NOT_APPEALABLE, service.EXISTS))
async def appeal(match_id: uuid.UUID, body: AppealIn, principal: Player, res: ResourcesDep,
                 round_no: int = Path(..., ge=1, le=20)) -> AppealOut:
    return appeal_out(await service.appeal(res, principal, match_id, round_no, body.reason))


@router.get("/appeals", response_model=AppealList, summary="Appeals, newest first",
            description="A moderator (org admin: its org's players; zone admin: the zone) sees the appeals to "
                        "decide; a player its own.",
            responses=problems(org_scope.DENIED))
async def list_appeals(principal: Player, res: ResourcesDep, status: AppealStatus | None = None,
                       limit: int = Query(50, ge=1, le=200)) -> AppealList:
    return AppealList(items=[appeal_out(a) for a in await service.list_appeals(res, principal, status, limit)])


@router.post("/appeals/{appeal_id}/decide", response_model=DecisionOut, summary="Decide an appeal",
             description="`upheld` keeps the grade; `overturned` regrades the answer (grader 'appeal') and moves "
                         "the seat's score. The player gets `grade_update`, and `rating_change` (reason 'appeal') "
                         "for each rating given back.",
             responses=problems(org_scope.DENIED, service.APPEAL_NOT_FOUND, service.DECIDED, service.NOT_BETTER,
                                service.RATINGS_PENDING))
async def decide(appeal_id: uuid.UUID, body: DecisionIn, principal: Moderator, res: ResourcesDep) -> DecisionOut:
    done = await service.decide(res, principal, appeal_id, body.decision, body.verdict, body.feedback)
    return DecisionOut(appeal=appeal_out(done.appeal), verdict=done.verdict,  # type: ignore[arg-type]
                       refunds=[RefundOut(topic=c.topic, before=c.before.rating, after=c.after.rating)
                                for c in done.refunds])
