"""Per-process state of the arena service: settings, the WebSocket hub (fan-out across replicas
through Redis), the room log (one room per player), and background tasks kept referenced."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request

from megacity.realtime.room_log import RoomLog
from services.arena.settings import ArenaSettings

if TYPE_CHECKING:
    from megacity.realtime.hub import Hub


@dataclass
class ArenaState:
    settings: ArenaSettings
    room_log: RoomLog | None = None
    hub: Hub | None = None
    # Background tasks (round timers, pushes) kept referenced until they finish.
    tasks: set[Any] = field(default_factory=set)

    def log(self) -> RoomLog:
        assert self.room_log is not None, "started by the runtime's on_start hook"
        return self.room_log


def state_of(request: Request) -> ArenaState:
    st: ArenaState = request.app.state.arena
    return st
