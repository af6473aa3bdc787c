"""HTTP: /api/v1/classroom/sessions/{id}/report — a session's report as JSON, CSV and xlsx, for
the staff who run the class's sessions (a teacher of the class, an org admin)."""
from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.classroom.permissions import SESSION_RUN
from services.classroom.reports import export, service
from services.classroom.reports.schemas import ReportOut
from services.classroom.sessions import service as sessions
from services.classroom.sessions.routes import DENIED, ORG_REQUIRED, TENANT_DOWN

router = APIRouter(prefix="/api/v1/classroom/sessions/{session_id}", tags=["reports"])
Runner = Annotated[Principal, Depends(require(SESSION_RUN))]
ERRORS = problems(DENIED, ORG_REQUIRED, sessions.NOT_FOUND, TENANT_DOWN)
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/report", response_model=ReportOut, summary="A session's report",
            description="From the stored answers (live and homework): the session's totals, each card's accuracy "
                        "and its most frequent wrong answers (grouped as the checker normalises them), and each "
                        "participant's score and correctness per card.",
            responses=ERRORS)
async def get_report(session_id: uuid.UUID, principal: Runner, res: ResourcesDep) -> ReportOut:
    return await service.report(res, principal, session_id)


def _attachment(body: bytes, media_type: str, name: str) -> Response:
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


@router.get("/report.csv", response_class=Response, summary="A session's report as CSV",
            description="One row per participant: nickname, mode, score, answered, correct, then `card N` "
                        "(✓ correct, ✗ wrong, blank not answered). UTF-8 with a BOM so Excel shows Korean; cells "
                        "that would run as formulas start with an apostrophe.",
            responses={200: {"content": {"text/csv": {}}}, **ERRORS})
async def get_report_csv(session_id: uuid.UUID, principal: Runner, res: ResourcesDep) -> Response:
    report = await service.report(res, principal, session_id)
    return _attachment(export.csv_bytes(report), CSV, export.filename(report, "csv"))


@router.get("/report.xlsx", response_class=Response, summary="A session's report as an Excel workbook",
            description="Sheet `Participants` (as the CSV) and sheet `Cards` (accuracy and the top misconceptions "
                        "of each card).",
            responses={200: {"content": {XLSX: {}}}, **ERRORS})
async def get_report_xlsx(session_id: uuid.UUID, principal: Runner, res: ResourcesDep) -> Response:
    report = await service.report(res, principal, session_id)
    body = await asyncio.to_thread(export.xlsx_bytes, report)  # zipping a large class's sheets is CPU work
    return _attachment(body, XLSX, export.filename(report, "xlsx"))
