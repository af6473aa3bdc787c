"""HTTP: start a roster import (multipart .xlsx upload), list imports, read one with its errors.

The upload is checked completely — size, zip, workbook, required columns, at least one row —
before the import row is written; a bad file gets a 4xx and leaves nothing behind. Progress is
polled at `GET /api/v1/jobs/{id}/progress` (Redis only); the result and the per-row error report
come from the database at `GET /api/v1/rosters/imports/{id}`.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import tempfile
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from starlette.datastructures import UploadFile

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.pagination import offset_query
from megacity.runtime import Resources, resources
from services.tenant.access import DENIED, ORG_NOT_ACTIVE, ORG_SCOPE, acting_org, ensure_org, org_context
from services.tenant.roster_import.jobs import KIND, ImportJob, ImportRunner
from services.tenant.roster_import.workbook import OPTIONAL, REQUIRED, inspect_workbook

router = APIRouter(prefix="/api/v1/rosters/imports", tags=["roster-imports"])

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_IMPORT_ID = "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
ORG_ID = Query(None, description="Zone-level callers: the org to act on (others: their own org)")
_COLUMNS = ("id, org_id, created_by, filename, size_bytes, status, total_rows, processed_rows, created_count,"
            " updated_count, restored_count, unchanged_count, error_count, error, created_at, started_at, finished_at")
_SUMMARY_EXAMPLE = {
    "id": _IMPORT_ID, "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
    "created_by": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "filename": "roster-2026.xlsx", "size_bytes": 183422,
    "status": "succeeded", "total_rows": 5000, "processed_rows": 5000, "created_count": 4890, "updated_count": 0,
    "restored_count": 10, "unchanged_count": 0, "error_count": 100, "error": None,
    "created_at": "2026-03-01T09:00:00Z", "started_at": "2026-03-01T09:00:00Z",
    "finished_at": "2026-03-01T09:00:03Z"}


def runner(request: Request) -> ImportRunner:
    return request.app.state.roster_imports


class ImportAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": _IMPORT_ID, "job_id": _IMPORT_ID, "status": "queued", "total_rows": 5000,
        "progress_url": f"/api/v1/jobs/{_IMPORT_ID}/progress", "detail_url": f"/api/v1/rosters/imports/{_IMPORT_ID}",
        "columns": ["name", "grade", "parent_phone", "class"], "ignored_columns": ["memo"]}]})

    id: uuid.UUID
    job_id: uuid.UUID
    status: str
    total_rows: int | None
    progress_url: str
    detail_url: str
    columns: list[str]
    ignored_columns: list[str]


class RowError(BaseModel):
    row: int
    column: str
    reason: str


class ImportSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    created_by: uuid.UUID
    filename: str
    size_bytes: int
    status: str
    total_rows: int | None
    processed_rows: int
    created_count: int
    updated_count: int
    restored_count: int
    unchanged_count: int
    error_count: int
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ImportDetail(ImportSummary):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_SUMMARY_EXAMPLE, "errors": [{"row": 17, "column": "parent_phone",
                                        "reason": "must be a phone number of 7 to 15 digits"},
                                       {"row": 42, "column": "grade", "reason": "must be a whole number from 1 to 20"}],
        "errors_total": 100}]})

    errors: list[RowError]
    errors_total: int


class ImportList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SUMMARY_EXAMPLE]}]})

    items: list[ImportSummary]


async def _save_upload(upload: UploadFile, limit: int) -> tuple[Path, int]:
    """Copy the upload to a private temp file, refusing more than `limit` bytes."""
    fd, name = tempfile.mkstemp(prefix="roster-", suffix=".xlsx")
    path, size = Path(name), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise AppError(413, "roster_import.too_large", f"the file is over {limit // (1024 * 1024)} MB")
                await asyncio.to_thread(out.write, chunk)
        return path, size
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise


@router.post("", status_code=202, response_model=ImportAccepted, summary="Start a roster import from an .xlsx file",
             description=(
                 "Multipart upload, field `file`. The first sheet's first row names the columns: "
                 f"required {', '.join(REQUIRED)}; optional {', '.join(OPTIONAL)} (Korean headers such as 이름, 학년, "
                 "학부모 전화, 반 work too). Students are matched on (name, parent_phone): existing ones are updated, "
                 "soft-deleted ones restored, others created; classes named in the file are created. Bad rows are "
                 "skipped and reported (row, column, reason). Importing the same file again changes nothing. "
                 "The file is validated before anything is written; poll `progress_url` while it runs."),
             responses={**ORG_SCOPE, **DENIED, **ORG_NOT_ACTIVE,
                        **problem_response(400, "roster_import.empty_file", "The uploaded file is empty"),
                        **problem_response(413, "roster_import.too_large", "The file is over 20 MB"),
                        **problem_response(415, "roster_import.not_xlsx", "The file is not an .xlsx workbook"),
                        **problem_response(422, "roster_import.missing_columns", "Required columns are missing",
                                           "the first row lacks the required column(s): parent_phone")},
             # The body is read by the handler, after authentication and permission checks, so an
             # anonymous or unauthorised caller cannot make the service spool an upload.
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary", "description": "The roster, .xlsx"}}}}}}})
async def start_import(request: Request, org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(require("user:create")),
                       res: Resources = Depends(resources)) -> ImportAccepted:
    org = acting_org(principal, org_id)
    ctx = org_context(principal, org)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD_BYTES + 64 * 1024:
        raise AppError(413, "roster_import.too_large", f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    async with tenant_transaction(res.db(), ctx) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # noqa: BLE001 - a malformed multipart body, whatever the parser says
        raise AppError(400, "request.invalid_multipart", f"the body is not valid multipart/form-data: {exc}") from None
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise AppError(422, "request.invalid", "the multipart field `file` (the .xlsx roster) is required",
                           {"errors": [{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}]})
        return await _start(request, file, principal, res, org)
    finally:
        await form.close()


async def _start(request: Request, file: UploadFile, principal: Principal, res: Resources,
                 org: uuid.UUID) -> ImportAccepted:
    ctx = org_context(principal, org)
    path, size = await _save_upload(file, MAX_UPLOAD_BYTES)
    try:
        info = await asyncio.to_thread(inspect_workbook, path)
        import_id = uuid.uuid4()
        filename = (file.filename or "roster.xlsx")[:255]
        async with tenant_transaction(res.db(), ctx) as s:
            await s.execute(text(
                "INSERT INTO tenant.roster_imports (id, zone_id, org_id, created_by, filename, size_bytes, total_rows)"
                " VALUES (:id, :z, :o, :by, :fn, :size, :total)"),
                {"id": import_id, "z": principal.zone_id, "o": org, "by": principal.user_id, "fn": filename,
                 "size": size, "total": info.total_rows})
        await runner(request).progress().create(principal.zone_id, org, import_id, kind=KIND, owner=principal.user_id,
                                                total=info.total_rows)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    runner(request).start(ImportJob(import_id, ctx, path, info))
    return ImportAccepted(id=import_id, job_id=import_id, status="queued", total_rows=info.total_rows,
                          progress_url=f"/api/v1/jobs/{import_id}/progress",
                          detail_url=f"/api/v1/rosters/imports/{import_id}", columns=sorted(info.columns),
                          ignored_columns=info.ignored_headers[:50])


@router.get("", response_model=ImportList, summary="Recent roster imports of your org", responses={**ORG_SCOPE, **DENIED})
async def list_imports(limit: int = Query(20, ge=1, le=200), org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(require("user:read")),
                       res: Resources = Depends(resources)) -> ImportList:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        rows = (await s.execute(text(
            f"SELECT {_COLUMNS} FROM tenant.roster_imports WHERE zone_id = :z AND org_id = :o"
            " ORDER BY created_at DESC LIMIT :limit"), {"z": principal.zone_id, "o": org, "limit": limit})).all()
    return ImportList(items=[ImportSummary.model_validate(r._mapping) for r in rows])


@router.get("/{import_id}", response_model=ImportDetail, summary="One import: its result and per-row error report",
            description="From the database (the durable result). While the import runs, poll "
                        "`/api/v1/jobs/{id}/progress` instead; this endpoint is for the final report.",
            responses={**ORG_SCOPE, **DENIED, **problem_response(404, "roster_import.not_found", "No such import in your org")})
async def get_import(import_id: uuid.UUID, errors_limit: int = Query(1000, ge=0, le=10_000),
                     errors_offset: int = offset_query("Error rows to skip"), org_id: uuid.UUID | None = ORG_ID,
                     principal: Principal = Depends(require("user:read")),
                     res: Resources = Depends(resources)) -> ImportDetail:
    org = acting_org(principal, org_id)
    params = {"z": principal.zone_id, "o": org, "id": import_id}
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        row = (await s.execute(text(
            f"SELECT {_COLUMNS} FROM tenant.roster_imports WHERE zone_id = :z AND org_id = :o AND id = :id"),
            params)).first()
        if row is None:
            raise AppError(404, "roster_import.not_found", f"import {import_id} does not exist in this org")
        errors = (await s.execute(text(
            "SELECT row_number AS row, column_name AS column, reason, count(*) OVER () AS total"
            " FROM tenant.roster_import_errors WHERE zone_id = :z AND org_id = :o AND import_id = :id"
            " ORDER BY row_number, column_name LIMIT :limit OFFSET :offset"),
            {**params, "limit": errors_limit, "offset": errors_offset})).all()
        total = errors[0].total if errors else (await s.execute(text(
            "SELECT count(*) FROM tenant.roster_import_errors WHERE zone_id = :z AND org_id = :o AND import_id = :id"),
            params)).scalar_one()
    return ImportDetail(**ImportSummary.model_validate(row._mapping).model_dump(),
                        errors=[RowError(row=e.row, column=e.column, reason=e.reason) for e in errors],
                        errors_total=total)
