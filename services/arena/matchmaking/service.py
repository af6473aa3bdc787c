"""The queue's rules: a player joins one pool (zone, mode, topic) at a time and only when not in an
active match; the rating it is paired by is read once, at join; leaving is explicit (or by the
timeout). Every change reaches the player's sockets as a `queue_status` frame. Pairing itself is
the worker's (matchmaking/worker.py)."""
from __future__ import annotations

import datetime as dt
import time
import uuid

from megacity import glicko2
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.arena.live import service as live
from services.arena.matchmaking import pairing, pools, queries
from services.arena.matchmaking.pools import Entry, Pool
from services.arena.matchmaking.schemas import QueueIn, QueueOut
from services.arena.players.service import ensure_player
from services.arena.settings import ArenaSettings

log = get_logger("arena.matchmaking")

ALREADY_QUEUED = (409, "arena.already_queued", "You are already waiting in a queue; leave it first")
IN_MATCH = (409, "arena.in_match", "You are in an active match; finish it first")
NOT_QUEUED = (404, "arena.not_queued", "You are not waiting in any queue")
TOPIC_NOT_FOUND = (404, "arena.not_found", "No such topic (category) visible to you")


def now_ms() -> int:
    return int(time.time() * 1000)


def waiting_of(entry: Entry) -> pairing.Waiting:
    return pairing.Waiting(str(entry.user_id), entry.rating, entry.joined_ms / 1000)


def queued_out(entry: Entry, at_ms: int, settings: ArenaSettings, waiting: int) -> QueueOut:
    """Where a queued player stands at `at_ms`: its current window, pool size, time to a ghost."""
    w, at = waiting_of(entry), at_ms / 1000
    waited = max(0.0, at - w.joined_at)  # replicas' clocks may differ by a little
    return QueueOut(status="queued", mode=entry.pool.mode, topic=entry.pool.topic,
                    since=dt.datetime.fromtimestamp(w.joined_at, dt.UTC), waited_seconds=round(waited, 1),
                    rating=round(entry.rating, 1), window=pairing.window(w, at, settings), waiting=waiting,
                    ghost_in_seconds=round(max(0.0, settings.ghost_after_seconds - waited), 1))


async def publish(res: Resources, zone_id: int, user_id: uuid.UUID, out: QueueOut) -> None:
    """A `queue_status` frame to the player's sockets; a push that fails never undoes the change."""
    try:
        await live.publish_to_user(res, zone_id, user_id, "queue_status", out.model_dump(mode="json"))
    except Exception as exc:  # noqa: BLE001 - the queue state is the truth, the frame a courtesy
        log.warning("queue_status push failed", user_id=str(user_id), error=str(exc)[:200])


async def join(res: Resources, settings: ArenaSettings, principal: Principal, body: QueueIn,
               client_address: str | None) -> QueueOut:
    zone_id, user_id = principal.zone_id, principal.user_id
    if await pools.get(res, zone_id, user_id) is not None:
        raise AppError(*ALREADY_QUEUED)
    topic = str(body.topic) if body.topic else ""
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        if body.topic is not None and not await queries.topic_visible(s, body.topic):
            raise AppError(*TOPIC_NOT_FOUND)
        match_id = await queries.active_match(s, zone_id, user_id)
        if match_id is not None:
            raise AppError(*IN_MATCH, extra={"match_id": str(match_id)})
        await ensure_player(s, zone_id, user_id, principal.org_id)
        rating = await queries.rating(s, zone_id, user_id, topic)
    entry = Entry(user_id, principal.org_id, Pool(zone_id, body.mode, topic),
                  glicko2.DEFAULT_RATING if rating is None else rating, now_ms(), address=client_address)
    if not await pools.add(res, entry, int(settings.queue_timeout_seconds) + 60):
        raise AppError(*ALREADY_QUEUED)
    out = queued_out(entry, entry.joined_ms, settings, await pools.size(res, entry.pool))
    await publish(res, zone_id, user_id, out)
    return out


async def status(res: Resources, settings: ArenaSettings, principal: Principal) -> QueueOut:
    """Queued (where), matched (the active match) or idle."""
    entry = await pools.get(res, principal.zone_id, principal.user_id)
    if entry is not None:
        return queued_out(entry, now_ms(), settings, await pools.size(res, entry.pool))
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        match_id = await queries.active_match(s, principal.zone_id, principal.user_id)
    return QueueOut(status="matched", match_id=match_id) if match_id else QueueOut(status="idle")


async def leave(res: Resources, principal: Principal) -> QueueOut:
    entry = await pools.get(res, principal.zone_id, principal.user_id)
    if entry is None or not await pools.take(res, entry.pool, [entry]):
        raise AppError(*NOT_QUEUED)  # not queued, or paired a moment ago
    out = QueueOut(status="idle", reason="left")
    await publish(res, principal.zone_id, principal.user_id, out)
    return out


async def queue_status(res: Resources, zone_id: int, user_id: uuid.UUID) -> dict[str, object] | None:
    """The `queue_status` data of a queued player (the WebSocket snapshot), None when not queued."""
    entry = await pools.get(res, zone_id, user_id)
    if entry is None:
        return None
    settings = live.state_for(res).settings
    return queued_out(entry, now_ms(), settings, await pools.size(res, entry.pool)).model_dump(mode="json")


async def is_queued(res: Resources, zone_id: int, user_id: uuid.UUID) -> bool:
    """For other ways into a match (practice): a queued player must leave the queue first."""
    return await pools.get(res, zone_id, user_id) is not None
