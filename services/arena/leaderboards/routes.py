"""HTTP: /api/v1/arena/leaderboards/{board} (top N, by cursor) and /{board}/me (your rank and
neighbours). Boards are zone-wide: all-time, weekly, category:<category id>."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth import org_scope
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.pagination import INVALID_CURSOR
from megacity.runtime import ResourcesDep
from services.arena.leaderboards import service, sorted_sets
from services.arena.leaderboards.schemas import BoardPage, BoardRow, MyRank
from services.arena.permissions import PLAY

router = APIRouter(prefix="/api/v1/arena/leaderboards", tags=["leaderboards"])
Player = Annotated[Principal, Depends(require(PLAY))]
DENIED = org_scope.DENIED
BAD_CURSOR = (400, INVALID_CURSOR, "The cursor is not one this board returned")
_BOARD_DOC = ("`all-time`: overall rating; `weekly`: XP earned this ISO week; `category:<id>`: that category's "
              "rating. Ratings appear once established (RD <= 75 and at least 10 games). Ties share the order "
              "of user ids.")


def rows(items: list[service.Named]) -> list[BoardRow]:
    return [BoardRow(rank=n.entry.rank, user_id=n.entry.user_id, nickname=n.name.nickname if n.name else "?",
                     avatar=n.name.avatar if n.name else "default",
                     tier_points=n.name.tier_points if n.name else 0, score=n.entry.score) for n in items]


@router.get("/{board}", response_model=BoardPage, summary="Top of a leaderboard", description=_BOARD_DOC,
            responses=problems(DENIED, service.NOT_FOUND, BAD_CURSOR, sorted_sets.REBUILDING))
async def top(board: str, principal: Player, res: ResourcesDep,
              limit: int = Query(50, ge=1, le=100, description="At most ARENA_LEADERBOARD_MAX_LIMIT (100)"),
              cursor: str | None = Query(None, max_length=2048)) -> BoardPage:
    page = await service.top(res, principal, board, limit, cursor)
    return BoardPage(board=page.board.name, size=page.size, items=rows(page.items), next_cursor=page.next_cursor)


@router.get("/{board}/me", response_model=MyRank, summary="Your rank and neighbours on a leaderboard",
            description=_BOARD_DOC, responses=problems(DENIED, service.NOT_FOUND, sorted_sets.REBUILDING))
async def me(board: str, principal: Player, res: ResourcesDep,
             k: int | None = Query(None, ge=0, le=25, description="Neighbours each side (default ARENA_LEADERBOARD_"
                                                                  "NEIGHBOURS, 5)")) -> MyRank:
    mine = await service.mine(res, principal, board, k)
    return MyRank(board=mine.board.name, size=mine.size, rank=mine.rank, score=mine.score, items=rows(mine.items))
