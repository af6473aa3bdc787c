"""HTTP: /api/v1/rosters/imports — start an import (multipart .xlsx upload), list imports, read
one with its errors. Progress is polled at `GET /api/v1/jobs/{id}/progress` (Redis only)."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import UploadFile

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.http_app import problem_response, problems
from megacity.pagination import offset_query
from megacity.runtime import ResourcesDep
from services.tenant.access import ORG_ID, ORG_NOT_ACTIVE
from services.tenant.roster_import import service
from services.tenant.roster_import.jobs import ImportRunner
from services.tenant.roster_import.schemas import ImportAccepted, ImportDetail, ImportList, ImportSummary, RowError
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


@contextlib.asynccontextmanager
async def _uploaded_file(request: Request) -> AsyncIterator[UploadFile]:
    """The multipart field `file`, closed afterwards."""
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # noqa: BLE001 - a malformed multipart body, whatever the parser says
        raise AppError(400, "request.invalid_multipart", f"the body is not valid multipart/form-data: {exc}") from None
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise AppError(422, "request.invalid", "the multipart field `file` (the .xlsx roster) is required",
                           {"errors": [{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}]})
        yield file
    finally:
        await form.close()


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
    async with _uploaded_file(request) as file:
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
