"""Per-process state of the classroom service: settings, the WebSocket hub (fan-out across
replicas through Redis), the room log, and the answer writer (group commit)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request

from megacity.realtime.room_log import RoomLog
from services.classroom.settings import ClassroomSettings

if TYPE_CHECKING:
    from megacity.realtime.hub import Hub
    from services.classroom.cards.writer import AnswerWriter


@dataclass
class ClassroomState:
    settings: ClassroomSettings
    room_log: RoomLog | None = None
    hub: Hub | None = None
    writer: AnswerWriter | None = None
    # Background tasks (tally pushes) kept referenced until they finish.
    tasks: set[Any] = field(default_factory=set)
    # Sessions whose tally push this replica has scheduled (one per interval).
    tally_pending: set[Any] = field(default_factory=set)

    def log(self) -> RoomLog:
        assert self.room_log is not None, "started by the runtime's on_start hook"
        return self.room_log


def state_of(request: Request) -> ClassroomState:
    st: ClassroomState = request.app.state.classroom
    return st
