"""Arena pages (app. host): 1v1 quiz battles. Shells only: the browser calls arena on
api.<domain> and plays over its WebSocket.

- `/arena` — my profile and rating (`GET /api/v1/arena/me`), queue for a casual or ranked match
  (`POST/GET/DELETE /api/v1/arena/queue`) or practise against the bot
  (`POST /api/v1/arena/matches/practice`), then the match itself over `/api/v1/arena/ws`
  (`match_found`, `round_start`, `answer`, `opponent_answered`, `round_result`, `match_result`,
  `rating_change`), and my recent matches (`GET /api/v1/arena/matches`).
- `/arena/leaderboard` — the all-time and weekly boards (`GET /api/v1/arena/leaderboards/{board}`)
  with my rank and neighbours (`/{board}/me`).
"""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

router = page_router("app")


@router.get("/arena", response_class=HTMLResponse, summary="Arena: profile, queue and the live match")
async def arena_home(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "arena/play.html", title=N_("Arena"), script="arena-play")


@router.get("/arena/leaderboard", response_class=HTMLResponse, summary="Arena leaderboards with my rank")
async def arena_leaderboard(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "arena/leaderboard.html", title=N_("Arena leaderboard"), script="arena-leaderboard")
