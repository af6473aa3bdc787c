"""Pushing frames to arena players: one personal room per player, and the process's hub.

Arena is a zone-wide community (players and matches are zone-level rows), so a player's room is
zone-level too: `Room(zone_id, NIL_ORG, "arena", user_id)` — every feature reaches a player with
`publish_to_user(res, zone_id, user_id, type, data)` without knowing its org, and every frame
lands in that room's replayable log (resume after reconnect by sequence number).

`start(res, state)` (on_start) creates the RoomLog and Hub and registers the process's state so
the match engine, matchmaking and the rating consumer, which only hold `res`, find them;
`stop(res, state)` (on_stop) closes the sockets with 1001 and cancels the engine's timers."""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from megacity.realtime.hub import Hub
from megacity.realtime.room_log import Room, RoomLog
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.arena.service_state import ArenaState

log = get_logger("arena.live")
NIL_ORG = uuid.UUID(int=0)
ROOM_KIND = "arena"

# Resources -> ArenaState of the runtimes started in this process (tests run several).
_STATES: dict[int, ArenaState] = {}


def room_of(zone_id: int, user_id: uuid.UUID | str) -> Room:
    """A player's personal room: all its arena frames (queue, match, ratings) in one sequence."""
    return Room(zone_id, NIL_ORG, ROOM_KIND, uuid.UUID(str(user_id)))


async def start(res: Resources, state: ArenaState) -> None:
    """on_start hook: the room log (kept `replay_frames` per player), the hub, and registration."""
    state.room_log = RoomLog(res.redis, res.keys, maxlen=state.settings.replay_frames)
    state.hub = Hub(res.redis, state.room_log)
    await state.hub.start()
    _STATES[id(res)] = state


async def stop(res: Resources, state: ArenaState) -> None:
    """on_stop hook: clients reconnect elsewhere and resume (1001); this replica's round timers
    stop (the sweeper of another replica closes what they would have)."""
    _STATES.pop(id(res), None)
    if state.hub is not None:
        await state.hub.close()
    tasks = list(state.tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def state_for(res: Resources) -> ArenaState:
    """The arena state of the runtime `res` belongs to (registered by `start`)."""
    state = _STATES.get(id(res))
    if state is None:
        raise RuntimeError("arena live machinery not started: main.py must run live.service.start on start")
    return state


async def publish_to_user(res: Resources, zone_id: int, user_id: uuid.UUID | str, type: str, data: Any) -> int:
    """Send frame `type` with `data` to every connection of one player (all replicas), logged for
    resume. Returns the frame's sequence number in the player's room. The frame's data must match
    its model in live/schemas.py (SERVER_FRAMES)."""
    return await state_for(res).log().publish(room_of(zone_id, user_id), type, data)


async def publish_body_to_user(res: Resources, zone_id: int, user_id: uuid.UUID | str, body: str) -> int:
    """`publish_to_user` with a body encoded once by `megacity.realtime.protocol.frame_body` (the
    same round frame to both players)."""
    return await state_for(res).log().publish_body(room_of(zone_id, user_id), body)


def presence_key(res: Resources, zone_id: int, user_id: uuid.UUID | str) -> str:
    """The set of the player's open sockets (one stamp each), across every replica."""
    return res.keys.zone(zone_id, "arena", "presence", user_id)


async def connected(res: Resources, zone_id: int, user_id: uuid.UUID | str) -> bool:
    """Whether the player has a socket open on any replica (a stamp of a replica that crashed
    stays until the key expires: such a player is never forfeited for a disconnect, its rounds
    time out instead)."""
    return bool(await res.redis.scard(presence_key(res, zone_id, user_id)))


def spawn(res: Resources, coro: Any) -> asyncio.Task[Any]:
    """Run `coro` in the background on this replica, kept referenced and cancelled on stop."""
    tasks = state_for(res).tasks
    task = asyncio.get_running_loop().create_task(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    """A background step that failed is logged (the sweeper redoes it), never left unretrieved."""
    if not task.cancelled() and task.exception() is not None:
        log.error("arena background task failed", exc_info=task.exception())
