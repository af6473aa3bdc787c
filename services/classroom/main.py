"""Classroom service: live class sessions (seed 002) — a teacher opens a session for a class,
students join anonymously by code or QR, chat (moderated) and answer problem cards together over
a WebSocket; fan-out across replicas through Redis (megacity.realtime)."""
from __future__ import annotations

from megacity.http_app import create_app
from megacity.realtime.hub import Hub
from megacity.realtime.room_log import RoomLog
from megacity.runtime import Resources, ServiceRuntime
from services.classroom.cards import routes as cards
from services.classroom.cards.writer import AnswerWriter
from services.classroom.homework import routes as homework
from services.classroom.live import routes as live
from services.classroom.messages import routes as messages
from services.classroom.moderation import routes as moderation
from services.classroom.participants import routes as participants
from services.classroom.problems import routes as problems
from services.classroom.reports import routes as reports
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import routes as sessions
from services.classroom.settings import ClassroomSettings, Settings
from services.classroom.upkeep import Upkeep, ensure_partitions


def build(settings: ClassroomSettings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("classroom", title="MegaCity Classroom API",
                     description="Live class sessions: join by code or QR, moderated chat, problem cards with "
                                 "server-timed answers, live tallies and leaderboards over a WebSocket "
                                 "(`/api/v1/classroom/sessions/{code}/ws`; protocol in the service README and "
                                 "asyncapi.yaml). Permissions: services/classroom/permissions.py.")
    state = ClassroomState(settings=settings)
    app.state.classroom = state
    for router in (sessions.router, participants.router, cards.router, messages.router, live.router,
                   problems.router, moderation.router, reports.router, homework.router):
        app.include_router(router)

    async def start_live(res: Resources) -> None:
        state.room_log = RoomLog(res.redis, res.keys, maxlen=settings.replay_frames)
        state.hub = Hub(res.redis, state.room_log)
        await state.hub.start()
        state.writer = AnswerWriter(res.db())
        await ensure_partitions(res)

    async def stop_live(_: Resources) -> None:
        if state.hub is not None:
            await state.hub.close()  # 1001: clients reconnect to another replica and resume

    return ServiceRuntime(settings, app=app, outbox=True, on_start=[start_live], on_stop=[stop_live],
                          workers=[lambda res: Upkeep(res, state)])
