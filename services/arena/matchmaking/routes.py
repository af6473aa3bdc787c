"""HTTP: /api/v1/arena/queue — join a matchmaking pool (zone, ranked or casual, optional topic),
see where you stand, leave. Pairing happens in the background; the match arrives as `match_found`
on the WebSocket (and GET /queue then says `matched`)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from megacity.auth import org_scope
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.arena.matchmaking import service
from services.arena.matchmaking.schemas import QueueIn, QueueOut
from services.arena.permissions import PLAY
from services.arena.service_state import ArenaState, state_of

router = APIRouter(prefix="/api/v1/arena/queue", tags=["matchmaking"])
Player = Annotated[Principal, Depends(require(PLAY))]
State = Annotated[ArenaState, Depends(state_of)]
DENIED = org_scope.DENIED


@router.post("", status_code=202, response_model=QueueOut, summary="Join a matchmaking queue",
             description="Waits in the zone's pool of the mode (and topic): players of every school of the zone "
                         "meet. Defaults: a pairing round every 2 s, or as soon as 20 wait; a pair's rating gap must "
                         "be inside both players' windows (300, widening by 25 a round waited up to +400); pairs are "
                         "a minimum-weight matching (blossom). Ranked: at most 3 rated games a day against one "
                         "opponent (that pair is not formed; each gets another opponent). After 45 s without a pair "
                         "a ghost match (a replay of a past human match) is offered; after 300 s the player leaves "
                         "the queue (reason `timeout`). Frames: `queue_status`, then `match_found`. Settings "
                         "`ARENA_PAIR_*`, `ARENA_GHOST_AFTER_SECONDS`, `ARENA_QUEUE_TIMEOUT_SECONDS`.",
             responses=problems(DENIED, service.ALREADY_QUEUED, service.IN_MATCH, service.TOPIC_NOT_FOUND))
async def join_queue(body: QueueIn, request: Request, principal: Player, res: ResourcesDep, st: State) -> QueueOut:
    address = request.client.host if request.client else None
    return await service.join(res, st.settings, principal, body, address)


@router.get("", response_model=QueueOut, summary="Your queue status",
            description="`queued` (pool, wait, current window, players waiting, time to a ghost match), `matched` "
                        "(the active match's id) or `idle`.",
            responses=problems(DENIED))
async def get_queue(principal: Player, res: ResourcesDep, st: State) -> QueueOut:
    return await service.status(res, st.settings, principal)


@router.delete("", response_model=QueueOut, summary="Leave the queue",
               description="Answers `idle` (reason `left`). A player paired a moment before gets 404 "
                           "`arena.not_queued`: the match is already on its way.",
               responses=problems(DENIED, service.NOT_QUEUED))
async def leave_queue(principal: Player, res: ResourcesDep) -> QueueOut:
    return await service.leave(res, principal)
