"""HTTP: /api/v1/arena/fairplay — fair-play flags for review, and marking a cheater (its
opponents get back what they lost to it). Moderators: org admins for their org's players, zone
admins for the zone."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth import org_scope
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.arena.fairplay import service
from services.arena.fairplay.queries import FlagRow
from services.arena.fairplay.schemas import FlagList, FlagOut, FlagStatus, MarkIn, MarkOut, RefundOut, ReviewIn
from services.arena.permissions import MODERATE

router = APIRouter(prefix="/api/v1/arena/fairplay", tags=["fair play"])
Moderator = Annotated[Principal, Depends(require(MODERATE))]


def flag_out(r: FlagRow) -> FlagOut:
    return FlagOut(id=r.id, user_id=r.user_id, kind=r.kind, level=r.level, status=r.status,  # type: ignore[arg-type]
                   details=r.details, reviewed_by=r.reviewed_by, created_at=r.created_at)


@router.get("/flags", response_model=FlagList, summary="Fair-play flags, newest first",
            description="Sandbagging/boosting (quick rated losses to one opponent: warn at 3, flag at 4 of the "
                        "last 7), answer-timing anomalies (correct answers under 300 ms, near-constant times), "
                        "cheater marks. An org admin sees its org's players' flags.",
            responses=problems(org_scope.DENIED))
async def list_flags(principal: Moderator, res: ResourcesDep, status: FlagStatus | None = None,
                     user_id: uuid.UUID | None = None, limit: int = Query(50, ge=1, le=200)) -> FlagList:
    return FlagList(items=[flag_out(r) for r in await service.list_flags(res, principal, status, user_id, limit)])


@router.post("/flags/{flag_id}/review", response_model=FlagOut, summary="Review a fair-play flag",
             description="`dismissed` (a false alarm) or `confirmed`. Confirming does not mark the player: "
                         "POST /fairplay/players/{user_id}/mark does (with refunds).",
             responses=problems(org_scope.DENIED, service.FLAG_NOT_FOUND))
async def review(flag_id: uuid.UUID, body: ReviewIn, principal: Moderator, res: ResourcesDep) -> FlagOut:
    return flag_out(await service.review_flag(res, principal, flag_id, body.status))


@router.post("/players/{user_id}/mark", response_model=MarkOut, summary="Mark a player as a cheater",
             description="Every opponent gets back the rating it lost to this player (`rating_changes` reason "
                         "'refund', once however often this is called; each gets a `rating_change` frame), and "
                         "the player leaves the leaderboards and is never rated again.",
             responses=problems(org_scope.DENIED, service.NOT_FOUND))
async def mark(user_id: uuid.UUID, body: MarkIn, principal: Moderator, res: ResourcesDep) -> MarkOut:
    marked = await service.mark_cheater(res, principal, user_id, body.note)
    return MarkOut(user_id=marked.user_id, newly_marked=marked.newly,
                   refunds=[RefundOut(user_id=c.user_id, match_id=c.match_id, topic=c.topic, before=c.before.rating,
                                      after=c.after.rating) for c in marked.refunds])
