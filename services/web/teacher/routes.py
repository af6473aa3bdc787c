"""Teacher page shells on the app. host, all under `/teach`.

Each route renders a template; the page's ES module (`static/js/pages/teacher-*.js`) signs in
(teachers and org admins; the roster import is org admins' only: it needs `user:create`) and
calls tenant's and exam's public APIs from the browser. An id in the path is only checked for
shape here (a malformed one is 404); whether it exists is the API's answer.
"""
from __future__ import annotations

import uuid

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

router = page_router("app")


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise HTTPException(status_code=404) from None


@router.get("/teach", response_class=HTMLResponse, summary="Teacher home")
async def teacher_home(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/home.html", title=N_("Teaching"), script="teacher-home")


@router.get("/teach/classes", response_class=HTMLResponse, summary="My classes")
async def my_classes(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/classes.html", title=N_("My classes"), script="teacher-classes")


@router.get("/teach/classes/{class_id}", response_class=HTMLResponse, summary="A class and its roster")
async def class_roster(class_id: str, request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/class.html", title=N_("Class roster"), script="teacher-class",
                  class_id=_uuid(class_id))


@router.get("/teach/rosters", response_class=HTMLResponse, summary="Roster import (org admins)")
async def roster_import(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/rosters.html", title=N_("Roster import"), script="teacher-rosters")


@router.get("/teach/items", response_class=HTMLResponse, summary="Item banks and item import")
async def item_banks(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/items.html", title=N_("Item banks"), script="teacher-items")


@router.get("/teach/exams", response_class=HTMLResponse, summary="Exams: list and create")
async def exams(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/exams.html", title=N_("Exams"), script="teacher-exams")


@router.get("/teach/exams/{exam_id}", response_class=HTMLResponse, summary="One exam: publish, who has taken it")
async def exam_detail(exam_id: str, request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/exam.html", title=N_("Exam"), script="teacher-exam",
                  exam_id=_uuid(exam_id))


@router.get("/teach/analytics", response_class=HTMLResponse, summary="Analytics overview")
async def analytics(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/analytics.html", title=N_("Analytics"), script="teacher-analytics")


@router.get("/teach/analytics/{exam_id}", response_class=HTMLResponse, summary="Analytics of one exam (charts)")
async def exam_analytics(exam_id: str, request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "teacher/analytics_exam.html", title=N_("Exam analytics"),
                  script="teacher-analytics-exam", exam_id=_uuid(exam_id))
