"""Zone leaderboards (all-time rating, this week's XP, per-category rating): top N by rank, and a
player's rank with neighbours, from Redis sorted sets rebuilt from SQL when Redis lost them.
Ratings count once established (RD <= 75, >= 10 games); marked cheaters never appear."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.arena.leaderboards import queries, sorted_sets
from services.arena.leaderboards.queries import NameRow
from services.arena.leaderboards.sorted_sets import Entry
from services.arena.leagues import weeks
from services.arena.settings import ArenaSettings

NOT_FOUND = (404, "arena.board_not_found", "Boards: all-time, weekly, category:<category id>")
WEEKLY_TTL = 15 * 86_400
CATCH_UP_MARGIN = dt.timedelta(seconds=60)
_TOPIC = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")
CURSOR = Keyset("arena.leaderboard", board=str, rank=int)


@dataclass(frozen=True, slots=True)
class Board:
    name: str
    kind: str  # rating | weekly
    topic: str = ""
    week_start: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Named:
    entry: Entry
    name: NameRow | None


@dataclass(frozen=True, slots=True)
class Page:
    board: Board
    size: int
    items: list[Named]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Mine:
    board: Board
    size: int
    rank: int | None
    score: float | None
    items: list[Named]


def parse_board(name: str, today: dt.date | None = None) -> Board:
    if name == "all-time":
        return Board(name, "rating")
    if name == "weekly":
        return Board(name, "weekly", week_start=weeks.current_week_start() if today is None
                     else weeks.week_start_of(today))
    topic = name.removeprefix("category:")
    if topic != name and _TOPIC.match(topic):
        return Board(name, "rating", topic=topic)
    raise AppError(404, "arena.board_not_found", f"no leaderboard {name!r}: all-time, weekly, category:<id>")


def board_key(res: Resources, zone_id: int, board: Board) -> str:
    if board.kind == "weekly":
        assert board.week_start is not None
        return res.keys.zone(zone_id, "arena", "lb", "weekly", board.week_start.isoformat())
    if board.topic:  # its own key family: a category named "all" is not the all-time board
        return res.keys.zone(zone_id, "arena", "lb", "topic", board.topic)
    return res.keys.zone(zone_id, "arena", "lb", "rating", "all")


async def rebuild(res: Resources, zone_id: int, board: Board) -> int:
    """The board from SQL (the truth); returns how many players it holds."""
    key, ctx = board_key(res, zone_id, board), TenantContext(zone_id, role="zone_admin")
    if board.kind == "weekly":
        assert board.week_start is not None
        week = board.week_start
        async with tenant_transaction(res.db(), ctx) as s:
            return await sorted_sets.merge_max(res.redis, key, lambda: queries.weekly_rows(s, zone_id, week), WEEKLY_TTL)
    began = dt.datetime.now(dt.UTC) - CATCH_UP_MARGIN
    async with tenant_transaction(res.db(), ctx) as s:
        count = await sorted_sets.replace(res.redis, key, lambda: queries.rating_rows(s, zone_id, board.topic))
    async with tenant_transaction(res.db(), ctx) as s:  # ratings committed while the set was refilled
        async for batch in queries.rating_rows(s, zone_id, board.topic, changed_since=began):
            await sorted_sets.put_batch(res.redis, key, batch)
    return count


async def _ready(res: Resources, zone_id: int, board: Board) -> str:
    key = board_key(res, zone_id, board)

    async def build() -> None:
        await rebuild(res, zone_id, board)

    await sorted_sets.ensure_built(res.redis, key, build)
    return key


async def _named(res: Resources, principal: Principal, entries: list[Entry]) -> list[Named]:
    if not entries:
        return []
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        found = await queries.names(s, principal.zone_id, [e.user_id for e in entries])
    return [Named(e, found.get(e.user_id)) for e in entries]


def _settings(res: Resources) -> ArenaSettings:
    settings: ArenaSettings = res.settings  # type: ignore[assignment]
    return settings


async def top(res: Resources, principal: Principal, name: str, limit: int, cursor: str | None) -> Page:
    board = parse_board(name)
    limit = min(limit, _settings(res).leaderboard_max_limit)
    secret = res.settings.secret_key
    after = CURSOR.decode(cursor, secret)
    if after is not None and after[0] != name:
        raise AppError(400, "request.invalid_cursor", "this cursor belongs to another board")
    start = after[1] if after else 0
    key = await _ready(res, principal.zone_id, board)
    entries, size = await sorted_sets.top(res.redis, key, start, limit)
    more = start + len(entries) < size and len(entries) == limit
    next_cursor = CURSOR.encode((name, start + limit), secret) if more else None
    return Page(board, size, await _named(res, principal, entries), next_cursor)


async def mine(res: Resources, principal: Principal, name: str, k: int | None) -> Mine:
    board = parse_board(name)
    k = _settings(res).leaderboard_neighbours if k is None else k
    key = await _ready(res, principal.zone_id, board)
    found = await sorted_sets.around(res.redis, key, principal.user_id, k)
    me = next((e for e in found.entries if e.user_id == principal.user_id), None)
    return Mine(board, found.size, found.rank, me.score if me else None,
                await _named(res, principal, found.entries))


def rating_score(rating: float, rd: float, games: int, cheater: bool) -> float | None:
    """The player's score on a rating board, None while not (or no longer) eligible."""
    if cheater or rd > queries.MAX_RD or games < queries.MIN_GAMES:
        return None
    return rating


async def record_ratings(res: Resources, zone_id: int,
                         ratings: Iterable[tuple[uuid.UUID, str, float, float, int, bool]]) -> None:
    """After a commit: (user, topic, rating, rd, games, cheater) onto the rating boards."""
    for user_id, topic, rating, rd, games, cheater in ratings:
        key = board_key(res, zone_id, Board("", "rating", topic=topic))
        await sorted_sets.put(res.redis, key, user_id, rating_score(rating, rd, games, cheater))


async def drop_lapsed(res: Resources, zone_id: int, within_days: float = 8.0) -> int:
    """Upkeep: players whose rating lapsed (RD grown past 75 by inactivity) in the last
    `within_days` leave the rating boards; a rebuild leaves them out too. Returns how many."""
    async with tenant_transaction(res.db(), TenantContext(zone_id, role="zone_admin")) as s:
        gone = await queries.lapsed(s, zone_id, within_days)
    for topic, user_id in gone:
        await sorted_sets.put(res.redis, board_key(res, zone_id, Board("", "rating", topic=topic)), user_id, None)
    return len(gone)


async def record_weekly(res: Resources, zone_id: int, week_start: dt.date, user_id: uuid.UUID, xp: int) -> None:
    """After a commit: the player's XP of the week (from SQL; only ever grows)."""
    key = board_key(res, zone_id, Board("weekly", "weekly", week_start=week_start))
    await sorted_sets.put(res.redis, key, user_id, float(xp), gt=True, ttl=WEEKLY_TTL)


async def remove_weekly(res: Resources, zone_id: int, user_id: uuid.UUID) -> None:
    """A marked cheater leaves this week's XP board (rebuilds leave it out too)."""
    key = board_key(res, zone_id, Board("weekly", "weekly", week_start=weeks.current_week_start()))
    await sorted_sets.put(res.redis, key, user_id, None)
