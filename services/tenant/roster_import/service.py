"""The rules of starting and reading roster imports.

The upload is checked completely — size, zip, workbook, required columns, at least one row —
before the import row is written; a bad file is a 4xx and leaves nothing behind. Then the import
row and its Redis progress are created and the job is handed to the process's `ImportRunner`
(`jobs.py`). The result and the per-row error report are read from the database.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.tenant.access import ensure_org
from services.tenant.roster_import import queries
from services.tenant.roster_import.jobs import KIND, ImportJob, ImportRunner
from services.tenant.roster_import.queries import ImportRow, RowErrorRow
from services.tenant.roster_import.workbook import inspect_workbook

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024  # a declared body this much over the file limit is refused before reading
MAX_IGNORED_SHOWN = 50


class Upload(Protocol):
    """The uploaded file, as it arrives (Starlette's UploadFile is one)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class ImportStarted:
    id: uuid.UUID
    total_rows: int | None
    columns: list[str]  # the known columns the file has
    ignored_columns: list[str]  # other headers (the first MAX_IGNORED_SHOWN)


@dataclass(frozen=True)
class ImportReport:
    summary: ImportRow
    errors: list[RowErrorRow]
    errors_total: int


def _too_large() -> AppError:
    return AppError(413, "roster_import.too_large", f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")


async def prepare_import(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                         declared_bytes: int | None) -> uuid.UUID:
    """The org an import will go to, checked before the upload is read: the caller's scope, the
    declared size, and that the org is active."""
    org = acting_org(principal, org_id)
    if declared_bytes is not None and declared_bytes > MAX_UPLOAD_BYTES + MULTIPART_SLACK:
        raise _too_large()
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
    return org


async def _save_upload(upload: Upload, limit: int) -> tuple[Path, int]:
    """Copy the upload to a private temp file, refusing more than `limit` bytes."""
    fd, name = tempfile.mkstemp(prefix="roster-", suffix=".xlsx")
    path, size = Path(name), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise _too_large()
                await asyncio.to_thread(out.write, chunk)
        return path, size
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise


async def start_import(res: Resources, runner: ImportRunner, principal: Principal, org: uuid.UUID,
                       upload: Upload) -> ImportStarted:
    """Check the file, write the import row (status queued) and its progress, start the job.
    `org` comes from `prepare_import`."""
    ctx = org_context(principal, org)
    path, size = await _save_upload(upload, MAX_UPLOAD_BYTES)
    try:
        info = await asyncio.to_thread(inspect_workbook, path)
        import_id = uuid.uuid4()
        filename = (upload.filename or "roster.xlsx")[:255]
        async with tenant_transaction(res.db(), ctx) as s:
            await queries.insert_import(s, import_id, principal.zone_id, org, principal.user_id, filename, size,
                                        info.total_rows)
        await runner.progress().create(principal.zone_id, org, import_id, kind=KIND, owner=principal.user_id,
                                       total=info.total_rows)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    runner.start(ImportJob(import_id, ctx, path, info))
    return ImportStarted(import_id, info.total_rows, sorted(info.columns), info.ignored_headers[:MAX_IGNORED_SHOWN])


async def list_imports(res: Resources, principal: Principal, org_id: uuid.UUID | None, limit: int) -> list[ImportRow]:
    """The org's latest imports, newest first."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        return await queries.list_imports(s, principal.zone_id, org, limit)


async def get_import(res: Resources, principal: Principal, org_id: uuid.UUID | None, import_id: uuid.UUID,
                     errors_limit: int, errors_offset: int) -> ImportReport:
    """One import's result and a page of its per-row error report."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        summary = await queries.get_import(s, principal.zone_id, org, import_id)
        if summary is None:
            raise AppError(404, "roster_import.not_found", f"import {import_id} does not exist in this org")
        errors, total = await queries.import_errors(s, principal.zone_id, org, import_id, errors_limit, errors_offset)
    return ImportReport(summary, errors, total)
