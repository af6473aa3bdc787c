"""K-Zone pages (app. host; the K-Zone zones my-ktube.com and my-ktube.ai). Shells only: the
browser calls kzone on api.<domain> with the student's token.

- `/kzone` — upload a voice recording (`POST /api/v1/kzone/voice/analyze`: audio + reference
  text) or a dance video / photo (`POST /api/v1/kzone/dance/pose-detection`) with an upload
  progress bar; follow the job (`GET /api/v1/jobs/{id}/events` SSE, `/progress` polled when the
  stream is unavailable; `POST /api/v1/kzone/jobs/{id}/cancel`); then the result
  (`GET /api/v1/kzone/jobs/{id}/result`, `GET /api/v1/kzone/jobs/{id}` for the input's URL):
  transcript, pronunciation score, word alignment, feedback; or the pose skeleton drawn over
  the photo.
- `/kzone/tutor` — ask the tutor (`POST /api/v1/kzone/tutor/ask`, SSE over fetch: `delta`
  sentences appended to an aria-live region, `done`, `error`); a stop button aborts the stream.
"""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

router = page_router("app")


@router.get("/kzone", response_class=HTMLResponse, summary="K-Zone studio: voice and dance analysis (student)")
async def studio(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "kzone/studio.html", title=N_("K-Zone studio"), script="kzone-studio")


@router.get("/kzone/tutor", response_class=HTMLResponse, summary="Ask the K-Zone tutor (student)")
async def tutor(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "kzone/tutor.html", title=N_("Ask the tutor"), script="kzone-tutor")
