"""Student pages (app. host). Shells only: the browser calls exam and tenant on api.<domain>.

- `/exams` — published exams of my org with my latest attempt at each (exam `GET /api/v1/exams`,
  `GET /api/v1/students/{me}/reports`): start, resume or see the result.
- `/exams/{exam_id}` — take it item by item (`POST /exams/{id}/start`, `GET /attempts/{id}`,
  `POST /attempts/{id}/responses`, `POST /attempts/{id}/submit`); the attempt in the API is the
  truth, so a reload resumes at the item the API holds.
- `/attempts/{attempt_id}/result` — θ, SE, scaled score and percentile, explained.
- `/links` — parent-link requests made to me (tenant `GET /api/v1/parent-links`, approve,
  reject, revoke).
"""
from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

router = page_router("app")


@router.get("/exams", response_class=HTMLResponse, summary="My exams (student)")
async def my_exams(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "student/exams.html", title=N_("My exams"), script="student-exams")


@router.get("/exams/{exam_id}", response_class=HTMLResponse, summary="Take an exam (student)")
async def take_exam(exam_id: uuid.UUID, request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "student/take.html", title=N_("Exam"), script="student-take", exam_id=str(exam_id))


@router.get("/attempts/{attempt_id}/result", response_class=HTMLResponse, summary="An attempt's result")
async def attempt_result(attempt_id: uuid.UUID, request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "student/result.html", title=N_("Your result"), script="student-result",
                  attempt_id=str(attempt_id))


@router.get("/links", response_class=HTMLResponse, summary="My parent-link requests (student)")
async def my_links(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "student/links.html", title=N_("Parent links"), script="student-links")
