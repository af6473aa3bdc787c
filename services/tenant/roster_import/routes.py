"""HTTP: /api/v1/rosters/imports — start an import (multipart .xlsx upload), list imports, read
one with its errors; provision accounts from an import and download its activation sheet once.
Progress is polled at `GET /api/v1/jobs/{id}/progress` (Redis only)."""
from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problem_response, problems
from megacity.multipart import uploaded_file
from megacity.pagination import offset_query
from megacity.runtime import ResourcesDep
from services.tenant.access import ORG_ID, ORG_NOT_ACTIVE
from services.tenant.roster_import import service
from services.tenant.roster_import.jobs import ImportRunner
from services.tenant.roster_import.schemas import (
    ImportAccepted,
    ImportDetail,
    ImportList,
    ImportSummary,
    ProvisionAccepted,
    ProvisionIn,
    RowError,
)
from services.tenant.roster_import.sheet import render_csv, render_html
from services.tenant.roster_import.workbook import OPTIONAL, REQUIRED

router = APIRouter(prefix="/api/v1/rosters/imports", tags=["roster-imports"])

ImportCreator = Annotated[Principal, Depends(require("user:create"))]
ImportReader = Annotated[Principal, Depends(require("user:read"))]


async def _runner(request: Request) -> ImportRunner:
    return request.app.state.roster_imports


RunnerDep = Annotated[ImportRunner, Depends(_runner)]
START_DESCRIPTION = (
    "Multipart upload, field `file`. The first sheet's first row names the columns: "
    f"required {', '.join(REQUIRED)}; optional {', '.join(OPTIONAL)} (Korean headers such as 이름, 학년, "
    "학부모 전화, 반 work too). Students are matched on (name, parent_phone): existing ones are updated, "
    "soft-deleted ones restored, others created; classes named in the file are created. Bad rows are "
    "skipped and reported (row, column, reason). Importing the same file again changes nothing. "
    "The file is validated before anything is written; poll `progress_url` while it runs.")
# The body is read by the handler, after authentication and permission checks, so an anonymous
# or unauthorised caller cannot make the service spool an upload.
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "The roster, .xlsx"}}}}}}}


def _declared_length(request: Request) -> int | None:
    length = request.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


@router.post("", status_code=202, response_model=ImportAccepted, summary="Start a roster import from an .xlsx file",
             description=START_DESCRIPTION, openapi_extra=UPLOAD_BODY,
             responses=problems(ORG_SCOPE, DENIED, ORG_NOT_ACTIVE,
                                (400, "roster_import.empty_file", "The uploaded file is empty"),
                                (400, "request.invalid_multipart", "The body is not multipart/form-data"),
                                (413, "roster_import.too_large", "The file is over 20 MB"),
                                (413, "roster_import.too_many_rows", "More rows than one import takes"),
                                (415, "roster_import.not_xlsx", "The file is not an .xlsx workbook"),
                                (422, "request.invalid", "Request failed validation"),
                                problem_response(422, "roster_import.missing_columns", "Required columns are missing",
                                                 "the first row lacks the required column(s): parent_phone"),
                                (422, "roster_import.unreadable", "The workbook cannot be read"),
                                (422, "roster_import.no_sheet", "The workbook has no worksheet"),
                                (422, "roster_import.no_rows", "The sheet has no data rows")))
async def start_import(request: Request, principal: ImportCreator, res: ResourcesDep, runner: RunnerDep,
                       org_id: uuid.UUID | None = ORG_ID) -> ImportAccepted:
    org = await service.prepare_import(res, principal, org_id, _declared_length(request))
    async with uploaded_file(request, what="the .xlsx roster") as file:
        started = await service.start_import(res, runner, principal, org, file)
    return ImportAccepted(id=started.id, job_id=started.id, status="queued", total_rows=started.total_rows,
                          progress_url=f"/api/v1/jobs/{started.id}/progress",
                          detail_url=f"/api/v1/rosters/imports/{started.id}", columns=started.columns,
                          ignored_columns=started.ignored_columns)


@router.get("", response_model=ImportList, summary="Recent roster imports of your org",
            responses=problems(ORG_SCOPE, DENIED))
async def list_imports(principal: ImportReader, res: ResourcesDep, limit: int = Query(20, ge=1, le=200),
                       org_id: uuid.UUID | None = ORG_ID) -> ImportList:
    rows = await service.list_imports(res, principal, org_id, limit)
    return ImportList(items=[ImportSummary.model_validate(r) for r in rows])


@router.get("/{import_id}", response_model=ImportDetail, summary="One import: its result and per-row error report",
            description="From the database (the durable result). While the import runs, poll "
                        "`/api/v1/jobs/{id}/progress` instead; this endpoint is for the final report.",
            responses=problems(ORG_SCOPE, DENIED, (404, "roster_import.not_found", "No such import in your org")))
async def get_import(import_id: uuid.UUID, principal: ImportReader, res: ResourcesDep,
                     errors_limit: int = Query(1000, ge=0, le=10_000),
                     errors_offset: int = offset_query("Error rows to skip"),
                     org_id: uuid.UUID | None = ORG_ID) -> ImportDetail:
    report = await service.get_import(res, principal, org_id, import_id, errors_limit, errors_offset)
    return ImportDetail(**ImportSummary.model_validate(report.summary).model_dump(),
                        errors=[RowError.model_validate(e) for e in report.errors], errors_total=report.errors_total)


PROVISION_DESCRIPTION = (
    "Accounts for the students this import touched (its live students) and for their parents (one per "
    "`parent_email` where the roster has one — an email that has an account already is linked to it — else one "
    "per `parent_phone`; siblings sharing either share the parent), made in chunks by a background job: each "
    "student gets an account (its email as login id, "
    "or a generated `…@roster.invalid` id) and a one-time activation code, a `student` membership; each parent "
    "an account, a `parent` membership, a parent roster record and links to its children already approved by the "
    "school. A student or parent that has an account already (e.g. registered with the roster email) is linked "
    "to it and gets no code. Provisioning again is safe: nothing is duplicated and existing accounts get no new "
    "code unless `reissue` is true. Follow `progress_url`; then download the codes once from `sheet_url`. "
    "A job that failed (e.g. auth went down: its progress says so) is simply started again.")


_NO_BODY = ProvisionIn()  # the body is optional: no body = {"reissue": false}


@router.post("/{import_id}/provision", status_code=202, response_model=ProvisionAccepted,
             summary="Provision accounts, memberships and approved parent links from an import",
             description=PROVISION_DESCRIPTION,
             responses=problems(ORG_SCOPE, DENIED, ORG_NOT_ACTIVE,
                                (404, "roster_import.not_found", "No such import in your org"),
                                (409, "roster_provision.running", "This import is being provisioned already"),
                                (409, "roster_provision.import_running", "The import has not finished"),
                                (422, "roster_provision.no_students", "The import has no live students"),
                                (503, "dependency.auth_unavailable", "Auth does not answer; retry shortly")))
async def start_provision(import_id: uuid.UUID, principal: ImportCreator, res: ResourcesDep, runner: RunnerDep,
                          body: ProvisionIn = _NO_BODY, org_id: uuid.UUID | None = ORG_ID) -> ProvisionAccepted:
    started = await service.start_provision(res, runner, principal, org_id, import_id, body.reissue)
    return ProvisionAccepted(job_id=started.job_id, import_id=import_id, status="queued",
                             total_students=started.total_students,
                             progress_url=f"/api/v1/jobs/{started.job_id}/progress",
                             sheet_url=f"/api/v1/rosters/imports/{import_id}/activation-sheet")


SHEET_EXAMPLE = ("role,name,grade,class,children,login_id,code,expires_at\r\n"
                 "student,Kim Minji,3,2,,k7m2q9xp@roster.invalid,HK7ZD-M3QPA,2026-04-01 09:00 UTC\r\n"
                 "parent,Parent of Kim Minji,,,Kim Minji,kim.parent@example.com,QW3RT-Y7UPZ,2026-04-01 09:00 UTC\r\n")
SHEET_HTML_EXAMPLE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Activation codes</title>'
    "<style>@page { size: A4; margin: 10mm; } …</style></head><body>"
    '<div class="page"><section class="card student"><div class="qr"><svg width="37mm" height="37mm" '
    'version="1.1" viewBox="0 0 37 37" xmlns="http://www.w3.org/2000/svg"><path d="M4,4H5V5H4z…" id="qr-path" '
    'fill="#000000" fill-opacity="1" fill-rule="nonzero" stroke="none"/></svg></div><div class="who">'
    "<h2>Kim Minji</h2><dl><dt>Role</dt><dd>student</dd><dt>Class</dt><dd>grade 3, class 2</dd>"
    "<dt>Login id</dt><dd>k7m2q9xp@roster.invalid</dd><dt>Activation code</dt>"
    '<dd class="code">HK7ZD-M3QPA</dd>…</dl></div></section>…</div></body></html>\n')
SHEET_DESCRIPTION = (
    "The waiting one-time activation codes of the import's students and parents, ONCE: this download takes them "
    "out of auth (which keeps only their hashes), so a second download — in either format — is 410. Choose the "
    "format when you take them: `format=csv` (default) or `format=html`; each holds every waiting code. Lost it? "
    "Provision again with `reissue: true` (the old codes stop working).\n\n"
    "**csv** (UTF-8 with BOM, for Excel; formula-like cells quoted): role, name, grade, class, children (a "
    "parent's), login_id, code, expires_at — one row per student or parent whose code is waiting.\n\n"
    "**html**: a self-contained printable page (A4, 6 cards a page, page breaks, no external assets; every "
    "roster value HTML-escaped), one card per person with name, class (students) or children (parents), login "
    "id, code, expiry and a QR code (inline SVG) of `https://app.<zone domain>/activate#login=<login id>&code="
    "<code>` (URL-encoded, in the fragment: browsers never send it, so the code stays out of access logs and "
    "Referer) — the domain the request came in on.\n\n"
    "A parent with an email in the roster has it as login id; others (and students without an email) get a "
    "generated `…@roster.invalid` id. A person activates at `POST /api/v1/auth/activate` with login id and code.")


@router.get("/{import_id}/activation-sheet", response_class=Response,
            summary="The one-time activation codes of an import's provisioned accounts (CSV or printable HTML, once)",
            description=SHEET_DESCRIPTION,
            responses={200: {"description": "The sheet, in the format asked for", "content": {
                "text/csv": {"schema": {"type": "string"}, "example": SHEET_EXAMPLE},
                "text/html": {"schema": {"type": "string"}, "example": SHEET_HTML_EXAMPLE}}},
                **problems(ORG_SCOPE, DENIED, (404, "roster_import.not_found", "No such import in your org"),
                           (409, "roster_provision.running", "The import is being provisioned right now"),
                           (410, "roster_provision.sheet_taken", "No code is waiting (downloaded already)"),
                           (422, "request.invalid", "Request failed validation (e.g. an unknown format)"),
                           (503, "dependency.auth_unavailable", "Auth does not answer; retry shortly"),
                           (503, "roster_provision.zone_unknown", "The caller's zone is not in the registry"))})
async def activation_sheet(import_id: uuid.UUID, request: Request, principal: ImportCreator, res: ResourcesDep,
                           sheet_format: Literal["csv", "html"] = Query(
                               "csv", alias="format", description="csv (default) or html (printable cards with QR "
                                                                  "codes); the codes are taken once either way"),
                           org_id: uuid.UUID | None = ORG_ID) -> Response:
    origin = service.app_origin(principal.zone_id, request.headers.get("host")) if sheet_format == "html" else ""
    rows = await service.activation_sheet(res, principal, org_id, import_id)
    name = f"activation-codes-{import_id}"
    if sheet_format == "html":
        # Inline only: no script, nothing fetched; the page can be opened from disk and printed.
        # ~10-20 ms of pure Python per QR code: off the event loop (1,000 cards take seconds).
        page = await asyncio.to_thread(render_html, rows, origin)
        return Response(page, media_type="text/html; charset=utf-8", headers={
            "Content-Disposition": f'inline; filename="{name}.html"', "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})
    return Response(render_csv(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"})
