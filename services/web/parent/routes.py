"""Parent pages (app. host). Shells only: the browser asks tenant's /api/v1/parent-links and exam's
/api/v1/students/{id}/reports with the parent's token (static/js/pages/parent-*.js)."""
from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.web.i18n import N_
from services.web.site import SiteDep, page_router
from services.web.templating import render

router = page_router("app")


@router.get("/parent", response_class=HTMLResponse, summary="Parent home: linked children and link requests")
async def parent_home(request: Request, site: SiteDep) -> HTMLResponse:
    return render(request, site, "parent/home.html", title=N_("My children"), script="parent-home")


@router.get("/parent/children/{student_id}", response_class=HTMLResponse,
            summary="A linked child's exam report (student_id: the child's user id)")
async def child_report(request: Request, site: SiteDep, student_id: uuid.UUID) -> HTMLResponse:
    return render(request, site, "parent/child.html", title=N_("Child's report"), script="parent-child",
                  student_id=str(student_id))
