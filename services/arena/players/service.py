"""Arena players: a profile per user and zone, made on first contact (a generated nickname unique
in the zone), its public view (nickname, tier, ratings with the provisional "?", W/L/D), and the
tiers that tier points map to."""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.arena.players import nicknames, queries
from services.arena.players.queries import PlayerRow, RatingRow, TierRow
from services.arena.players.schemas import MePatch

NOT_FOUND = (404, "arena.player_not_found", "No arena player with this id in the zone")
TAKEN = (409, "arena.nickname_taken", "Another player of the zone has this nickname")
INVALID = (422, "arena.nickname_invalid", "A nickname is 2-20 letters, digits, spaces, '_', '-' or '.'")
_NAME_TRIES = 8
_rng = random.SystemRandom()


@dataclass(frozen=True, slots=True)
class Profile:
    player: PlayerRow
    ratings: list[RatingRow]
    tier: TierRow


async def ensure_player(session: AsyncSession, zone_id: int, user_id: uuid.UUID,
                        org_id: uuid.UUID | None) -> PlayerRow:
    """The user's arena player, created with a generated nickname when it has none (in the
    caller's transaction; a nickname collision retries inside a savepoint)."""
    row = await queries.get(session, zone_id, user_id)
    if row is not None:
        return row
    for _ in range(_NAME_TRIES):
        name = nicknames.generated(_rng)
        try:
            async with session.begin_nested():
                created = await queries.insert(session, zone_id, user_id, org_id, name, nicknames.nickname_key(name))
        except IntegrityError:
            continue  # the generated name was taken: draw another
        if created is not None:
            return created
        existing = await queries.get(session, zone_id, user_id)  # a concurrent first call made it
        assert existing is not None
        return existing
    raise RuntimeError("no free generated nickname after several draws")


def tier_for(points: int, tiers: list[TierRow]) -> TierRow:
    """The tier whose [min, max] holds the points (the lowest below its floor)."""
    for tier in tiers:
        if tier.min_points <= points <= tier.max_points:
            return tier
    return tiers[0] if points < tiers[0].min_points else tiers[-1]


async def _profile(session: AsyncSession, player: PlayerRow) -> Profile:
    ratings = await queries.ratings_of(session, player.zone_id, player.user_id)
    return Profile(player, ratings, tier_for(player.tier_points, await queries.tiers(session)))


async def me(res: Resources, principal: Principal) -> Profile:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        player = await ensure_player(s, principal.zone_id, principal.user_id, principal.org_id)
        return await _profile(s, player)


async def update_me(res: Resources, principal: Principal, patch: MePatch) -> Profile:
    values: dict[str, object] = {}
    if patch.nickname is not None:
        values["nickname"], values["nickname_key"] = nicknames.clean_nickname(patch.nickname)
    if patch.avatar is not None:
        values["avatar"] = patch.avatar
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        player = await ensure_player(s, principal.zone_id, principal.user_id, principal.org_id)
        if values:
            try:
                async with s.begin_nested():
                    player = await queries.update_profile(s, principal.zone_id, principal.user_id, values)
            except IntegrityError:
                raise AppError(409, "arena.nickname_taken",
                               f"another player of the zone is called {values['nickname']!r}") from None
        return await _profile(s, player)


async def public_profile(res: Resources, principal: Principal, user_id: uuid.UUID) -> Profile:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        player = await queries.get(s, principal.zone_id, user_id)
        if player is None:
            raise AppError(404, "arena.player_not_found", f"no arena player {user_id} in this zone")
        return await _profile(s, player)


async def tiers(res: Resources, principal: Principal) -> list[TierRow]:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        return await queries.tiers(s)
