"""SQL of matchmaking: is a player in an active match, the rating a player is paired by, whether a
topic (category) is visible, and which waiting pairs reached the daily rated limit. Runs in a
tenant transaction (RLS: zone-level players, ratings and matches; categories by org visibility)."""
from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def active_match(s: AsyncSession, zone_id: int, user_id: uuid.UUID) -> uuid.UUID | None:
    """The player's active match (match_players_one_active keeps it to one)."""
    return (await s.execute(text(
        "SELECT match_id FROM arena.match_players WHERE zone_id = :z AND user_id = :u AND active LIMIT 1"),
        {"z": zone_id, "u": user_id})).scalar_one_or_none()


async def rating(s: AsyncSession, zone_id: int, user_id: uuid.UUID, topic: str) -> float | None:
    """The topic's rating once the player has played the topic, else the overall one; None for a
    player never rated (the caller uses the Glicko-2 start)."""
    return (await s.execute(text(
        "SELECT rating FROM arena.ratings WHERE zone_id = :z AND user_id = :u AND topic IN ('', :t)"
        " ORDER BY (topic <> '' AND games > 0) DESC, topic = '' DESC LIMIT 1"),
        {"z": zone_id, "u": user_id, "t": topic})).scalar_one_or_none()


async def topic_visible(s: AsyncSession, topic: uuid.UUID) -> bool:
    """A category the caller may see (zone-shared or its org's: RLS decides)."""
    return (await s.execute(text("SELECT 1 FROM arena.categories WHERE id = :t"), {"t": topic})).first() is not None


async def pairs_at_daily_limit(s: AsyncSession, zone_id: int, user_ids: Collection[uuid.UUID],
                               limit: int) -> set[frozenset[str]]:
    """Pairs among `user_ids` that played `limit` rated matches against each other in the last 24
    hours (aborted ones do not count)."""
    rows = (await s.execute(text(
        "SELECT LEAST(a.user_id, b.user_id) AS a, GREATEST(a.user_id, b.user_id) AS b"
        " FROM arena.match_players a"
        " JOIN arena.match_players b ON b.match_id = a.match_id AND b.seat = 1"
        " JOIN arena.matches m ON m.id = a.match_id"
        " WHERE a.zone_id = :z AND a.seat = 0 AND a.user_id = ANY(:ids) AND b.user_id = ANY(:ids)"
        " AND m.rated AND m.status <> 'aborted' AND m.created_at > now() - interval '1 day'"
        " GROUP BY 1, 2 HAVING count(*) >= :n"),
        {"z": zone_id, "ids": list(user_ids), "n": limit})).all()
    return {frozenset((str(r.a), str(r.b))) for r in rows}
