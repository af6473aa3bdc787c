"""HTTP: /api/v1/arena/leagues/me — your weekly XP league, group standings and the promotion and
demotion zones."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from megacity.auth import org_scope
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.arena.leaderboards import sorted_sets
from services.arena.leagues import service, weeks
from services.arena.leagues.schemas import LeagueOut, LeagueRow
from services.arena.permissions import PLAY

router = APIRouter(prefix="/api/v1/arena/leagues", tags=["leagues"])
Player = Annotated[Principal, Depends(require(PLAY))]


def _zone(i: int, n: int, z: service.Zones) -> str:
    return "promotion" if i < z.promote else "demotion" if i >= n - z.demote else "safe"


@router.get("/me", response_model=LeagueOut, summary="Your weekly league",
            description="Groups of about 30 per league (Bronze to Diamond), ranked by XP earned this ISO week "
                        "(Monday 00:00 UTC). At the week's end the top 7 move up and the bottom 5 down (fewer in a "
                        "small group; none up from Diamond, none down from Bronze, nobody up on 0 XP).",
            responses=problems(org_scope.DENIED, sorted_sets.REBUILDING))
async def my_league(principal: Player, res: ResourcesDep) -> LeagueOut:
    mine = await service.my_league(res, principal)
    n = len(mine.standings)
    members = [LeagueRow(rank=i + 1, user_id=s.user_id, nickname=s.nickname, avatar=s.avatar, xp=s.xp,
                         zone=_zone(i, n, mine.zones))  # type: ignore[arg-type]
               for i, s in enumerate(mine.standings)]
    rank = next((r.rank for r in members if r.user_id == principal.user_id), None)
    return LeagueOut(week_start=mine.week_start, ends_at=weeks.week_end(mine.week_start), league=mine.league,
                     league_name=service.LEAGUES[mine.league], placed=mine.member is not None,
                     group_no=mine.member.group_no if mine.member else None,
                     xp=mine.member.xp if mine.member else 0, rank=rank, promote=mine.zones.promote,
                     demote=mine.zones.demote, members=members)
