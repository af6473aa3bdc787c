"""Arena service: 1v1 quiz battles (seed 003) — matchmaking in Lichess-style pools, timed rounds
over a WebSocket (`/api/v1/arena/ws`, fan-out across replicas through megacity.realtime),
Glicko-2 ratings applied exactly once from `arena.match.finished`, tiers, leaderboards and weekly
leagues in Redis, questions with MiniLM embeddings in pgvector (similar questions, duplicates),
exact and LLM grading, the wrong-answer notebook, fair play and appeals."""
from __future__ import annotations

from megacity.http_app import create_app
from megacity.retention import outbox_worker
from megacity.runtime import ConsumerSpec, Resources, ServiceRuntime
from services.arena.appeals import routes as appeals
from services.arena.categories import routes as categories
from services.arena.fairplay import routes as fairplay
from services.arena.leaderboards import routes as leaderboards
from services.arena.leagues import routes as leagues
from services.arena.live import routes as live
from services.arena.live import service as live_service
from services.arena.matches import routes as matches
from services.arena.matches.sweeper import Sweeper
from services.arena.matchmaking import routes as matchmaking
from services.arena.matchmaking.worker import MatchmakingWorker
from services.arena.notebook import routes as notebook
from services.arena.players import routes as players
from services.arena.questions import routes as questions
from services.arena.ratings import consumer as ratings
from services.arena.service_state import ArenaState
from services.arena.settings import ArenaSettings, Settings
from services.arena.similar import routes as similar
from services.arena.upkeep import Upkeep


def build(settings: ArenaSettings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("arena", title="MegaCity Arena API",
                     description="1v1 quiz battles: matchmaking, timed rounds over a WebSocket "
                                 "(`/api/v1/arena/ws`; protocol in the service README and asyncapi.yaml), "
                                 "Glicko-2 ratings, tiers, leaderboards, weekly leagues, questions with "
                                 "similar-question search and duplicate detection, the wrong-answer notebook, "
                                 "fair play and appeals. Permissions: services/arena/permissions.py.")
    state = ArenaState(settings=settings)
    app.state.arena = state
    for router in (players.router, matchmaking.router, matches.router, live.router, leaderboards.router,
                   leagues.router, questions.router, similar.router, categories.router, notebook.router,
                   appeals.router, fairplay.router):
        app.include_router(router)

    async def start_live(res: Resources) -> None:
        await live_service.start(res, state)

    async def stop_live(res: Resources) -> None:
        await live_service.stop(res, state)  # 1001: clients reconnect to another replica and resume

    return ServiceRuntime(
        settings, app=app, outbox=True, on_start=[start_live], on_stop=[stop_live],
        consumers=[ConsumerSpec(durable="ratings", event_types="arena.match.finished", handler=ratings.handle)],
        workers=[lambda res: Sweeper(res), lambda res: MatchmakingWorker(res, state), lambda res: Upkeep(res, settings),
                 lambda res: outbox_worker(res, "arena")])
