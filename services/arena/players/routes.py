"""HTTP: /api/v1/arena/me (own profile, made on first call), /players/{user_id} (public view of
any player of the zone), /tiers. Players are zone-wide: schools of a zone meet in one arena."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from megacity import glicko2
from megacity.auth import org_scope
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.arena.permissions import PLAY
from services.arena.players import service
from services.arena.players.queries import RatingRow, TierRow
from services.arena.players.schemas import MeOut, MePatch, PlayerOut, RatingOut, TierList, TierOut

router = APIRouter(prefix="/api/v1/arena", tags=["players"])
Player = Annotated[Principal, Depends(require(PLAY))]
DENIED = org_scope.DENIED


def rating_out(r: RatingRow) -> RatingOut:
    provisional = r.rd >= glicko2.PROVISIONAL_RD
    shown = round(r.rating)
    return RatingOut(topic=r.topic, rating=shown, rd=round(r.rd, 1), games=r.games, provisional=provisional,
                     display=f"{shown}?" if provisional else str(shown))


def tier_out(t: TierRow) -> TierOut:
    return TierOut(id=t.id, name=t.name, min_points=t.min_points, max_points=t.max_points, icon=t.icon)


def player_out(p: service.Profile) -> PlayerOut:
    row = p.player
    return PlayerOut(user_id=row.user_id, nickname=row.nickname, avatar=row.avatar, tier=tier_out(p.tier),
                     tier_points=row.tier_points, wins=row.wins, losses=row.losses, draws=row.draws,
                     ratings=[rating_out(r) for r in p.ratings])


def me_out(p: service.Profile) -> MeOut:
    return MeOut(**player_out(p).model_dump(), xp=p.player.xp, created_at=p.player.created_at,
                 last_played_at=p.player.last_played_at)


@router.get("/me", response_model=MeOut, summary="Your arena profile",
            description="Made on the first call: a generated nickname unique in the zone, the default avatar, "
                        "rating 1500 (provisional, shown \"1500?\", until the deviation drops below 110).",
            responses=problems(DENIED))
async def get_me(principal: Player, res: ResourcesDep) -> MeOut:
    return me_out(await service.me(res, principal))


@router.patch("/me", response_model=MeOut, summary="Change your nickname or avatar",
              description="Nicknames are unique in the zone ignoring case and character width.",
              responses=problems(DENIED, service.TAKEN, service.INVALID))
async def patch_me(body: MePatch, principal: Player, res: ResourcesDep) -> MeOut:
    return me_out(await service.update_me(res, principal, body))


@router.get("/players/{user_id}", response_model=PlayerOut, summary="A player's public profile",
            description="Nickname, avatar, tier, W/L/D and every rating (\"?\" marks a provisional one). "
                        "Any player of the zone, whatever its school.",
            responses=problems(DENIED, service.NOT_FOUND))
async def get_player(user_id: uuid.UUID, principal: Player, res: ResourcesDep) -> PlayerOut:
    return player_out(await service.public_profile(res, principal, user_id))


@router.get("/tiers", response_model=TierList, summary="The tiers, Bronze to Challenger",
            description="Tier points are the overall rating, floored at 0; a tier spans [min_points, max_points].",
            responses=problems(DENIED))
async def list_tiers(principal: Player, res: ResourcesDep) -> TierList:
    return TierList(items=[tier_out(t) for t in await service.tiers(res, principal)])
