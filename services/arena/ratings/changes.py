"""Rating changes: the record every change leaves (`rating_changes`, unique per match, player,
topic and reason: a change is applied once), adjustments after the fact (refunds to a cheater's
opponents, appeals), and pushing changes to the players and the leaderboards after the commit."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.events.outbox import add_events
from megacity.glicko2 import PROVISIONAL_RD, Rating
from megacity.runtime import Resources
from services.arena.leaderboards import service as leaderboards
from services.arena.live.service import publish_to_user
from services.arena.players import queries as players
from services.arena.ratings import queries


@dataclass(frozen=True, slots=True)
class RatingChange:
    match_id: uuid.UUID
    user_id: uuid.UUID
    topic: str
    reason: str  # match | refund | appeal
    before: Rating
    after: Rating
    games: int
    extra: dict[str, Any] = field(default_factory=dict)  # what the frame adds (outcome, xp, tier)
    cheater: bool = False  # a marked cheater's change never puts it back on a board

    def frame(self) -> dict[str, Any]:
        """`rating_change` frame data (live/schemas.py RatingChange; extra fields allowed)."""
        return {"match_id": str(self.match_id), "topic": self.topic, "before": round(self.before.rating, 2),
                "after": round(self.after.rating, 2), "reason": self.reason,
                "delta": round(self.after.rating - self.before.rating, 2), "rd": round(self.after.rd, 2),
                "provisional": self.after.rd >= PROVISIONAL_RD, "games": self.games, **self.extra}

    def event(self) -> dict[str, Any]:
        """`arena.rating.changed` payload."""
        return {"match_id": str(self.match_id), "user_id": str(self.user_id), "topic": self.topic,
                "reason": self.reason, "rating_before": self.before.rating, "rating_after": self.after.rating,
                "rd_after": self.after.rd, "provisional": self.after.rd >= PROVISIONAL_RD}


def tier_points(rating: float) -> int:
    """Tier points derive from the overall rating (floored at 0; tiers in arena.tiers)."""
    return max(0, round(rating))


async def adjust(session: AsyncSession, zone_id: int, match_id: uuid.UUID, user_id: uuid.UUID, topic: str,
                 delta: float, reason: str) -> RatingChange | None:
    """Move a stored rating by `delta` for `reason` about a match, once (None when this change was
    made before, or the player has no such rating). Deviation, volatility, games and the
    inactivity clock stay as they are. Locks the player's row first, as applying a match does."""
    player = await players.get(session, zone_id, user_id, lock=True)
    stored = (await queries.ratings_for_update(session, zone_id, [user_id], [topic])).get((user_id, topic))
    if stored is None:
        return None
    after = Rating(stored.rating.rating + delta, stored.rating.rd, stored.rating.volatility)
    if not await queries.add_change(session, zone_id, match_id, user_id, topic, reason, stored.rating, after):
        return None
    await queries.save_rating(session, zone_id, user_id, topic, after, stored.games,
                              stored.last_rated_at or dt.datetime.now(dt.UTC))
    if topic == "":
        await queries.set_tier_points(session, zone_id, user_id, tier_points(after.rating))
    return RatingChange(match_id, user_id, topic, reason, stored.rating, after, stored.games,
                        {"tier_points": tier_points(after.rating)} if topic == "" else {},
                        cheater=player is not None and player.cheater)


async def publish(res: Resources, zone_id: int, changes: Iterable[RatingChange]) -> None:
    """After the commit: the rating boards, then a `rating_change` frame to each player (who may
    look at a board next)."""
    changes = list(changes)
    await leaderboards.record_ratings(res, zone_id, [(c.user_id, c.topic, c.after.rating, c.after.rd, c.games, c.cheater)
                                                     for c in changes])
    for c in changes:
        await publish_to_user(res, zone_id, c.user_id, "rating_change", c.frame())


async def record_events(session: AsyncSession, zone_id: int, changes: Iterable[RatingChange]) -> None:
    """`arena.rating.changed` for each change, in the transaction that made them."""
    await add_events(session, "arena", "arena.rating.changed", [c.event() for c in changes], zone_id=zone_id)
