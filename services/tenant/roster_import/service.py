"""The rules of starting and reading roster imports.

The upload is checked completely — size, zip, workbook, required columns, at least one row —
before the import row is written; a bad file is a 4xx and leaves nothing behind. Then the import
row and its Redis progress are created and the job is handed to the process's `ImportRunner`
(`jobs.py`). The result and the per-row error report are read from the database.

After an import, `start_provision` makes accounts for its students and their parents
(`provision.py`, the same runner), and `activation_sheet` hands their one-time codes out once.
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

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.zones import registry
from services.tenant import users_client
from services.tenant.access import ensure_org
from services.tenant.pii import tenant_pii
from services.tenant.roster_import import queries
from services.tenant.roster_import.jobs import KIND, ImportJob, ImportRunner
from services.tenant.roster_import.provision import KIND as PROVISION_KIND
from services.tenant.roster_import.provision import (
    LOCK_SECONDS,
    ParentKey,
    ProvisionJob,
    lock_key,
    parent_of,
    parents_by_key,
)
from services.tenant.roster_import.queries import ImportRow, RosterPerson, RowErrorRow
from services.tenant.roster_import.sheet import SheetRow
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
            await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                               target_type="roster_import", target_id=import_id, action="tenant.roster_import.started",
                               after={"rows": info.total_rows, "bytes": size})
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


# --- accounts from an import (provision.py) and the activation sheet ------------------------------

@dataclass(frozen=True)
class ProvisionStarted:
    job_id: uuid.UUID
    import_id: uuid.UUID
    total_students: int


SHEET_BATCH = 1000  # user ids per TakeActivationCodes call (auth's limit)


async def _import_for_provisioning(s: AsyncSession, principal: Principal, org: uuid.UUID,
                                   import_id: uuid.UUID) -> ImportRow:
    imp = await queries.get_import(s, principal.zone_id, org, import_id)
    if imp is None:
        raise AppError(404, "roster_import.not_found", f"import {import_id} does not exist in this org")
    return imp


async def start_provision(res: Resources, runner: ImportRunner, principal: Principal, org_id: uuid.UUID | None,
                          import_id: uuid.UUID, reissue: bool) -> ProvisionStarted:
    """Start provisioning accounts for the students an import touched (provision.py). Checked
    first: the import exists in the caller's org and has finished, it has live students, auth
    answers (503 now rather than a failed job), no provisioning of it is running (409)."""
    org = acting_org(principal, org_id)
    ctx = org_context(principal, org)
    async with tenant_transaction(res.db(), ctx) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        imp = await _import_for_provisioning(s, principal, org, import_id)
        if imp.status in ("queued", "running"):
            raise AppError(409, "roster_provision.import_running", "the import is still running; provision it "
                                                                   "when it has finished")
        total = await queries.count_import_students(s, principal.zone_id, org, import_id)
    if total == 0:
        raise AppError(422, "roster_provision.no_students", "no live student's last import is this one: nothing "
                                                            "to provision (provision the latest import of a roster)")
    await users_client.lookup_users(res, principal.zone_id)  # auth answers, or 503 here
    job_id = uuid.uuid4()
    key = lock_key(res, principal.zone_id, org, import_id)
    if not await res.redis.set(key, str(job_id), nx=True, ex=LOCK_SECONDS):
        raise AppError(409, "roster_provision.running", "this import is being provisioned already; follow its "
                                                        "progress, then provision again if needed")
    try:
        await runner.progress().create(principal.zone_id, org, job_id, kind=PROVISION_KIND, owner=principal.user_id,
                                       total=total)
    except BaseException:
        await res.redis.delete(key)
        raise
    async with tenant_transaction(res.db(), ctx) as s:
        await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                           target_type="roster_import", target_id=import_id, action="tenant.roster_provision.started",
                           after={"job_id": str(job_id), "students": total, "reissue": reissue})
    runner.start_provision(ProvisionJob(job_id, import_id, ctx, reissue, total))
    return ProvisionStarted(job_id, import_id, total)


async def activation_sheet(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                           import_id: uuid.UUID) -> list[SheetRow]:
    """The waiting activation codes of the import's students and their parents (by parent key:
    email, else phone; a parent's children listed), in plaintext, ONCE — whatever format the
    caller renders them in: auth erases each code's sealed copy as it hands it over (a lost sheet: provision again
    with `reissue`). 409 while a provisioning of the import runs, 410 when no code is waiting."""
    org = acting_org(principal, org_id)
    if await res.redis.exists(lock_key(res, principal.zone_id, org, import_id)):
        raise AppError(409, "roster_provision.running", "the import is being provisioned; download the sheet when "
                                                        "it has finished")
    students: list[RosterPerson] = []
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await _import_for_provisioning(s, principal, org, import_id)
        after: uuid.UUID | None = None
        pii = tenant_pii(res.settings)
        while chunk := await queries.import_students(s, pii, principal.zone_id, org, import_id, after, SHEET_BATCH):
            students += chunk
            after = chunk[-1].id
        keys = {parent_of(st) for st in students}
        by_key = parents_by_key(keys, await queries.import_parents(
            s, tenant_pii(res.settings), principal.zone_id, org, sorted({k.phone for k in keys if k.email is None}),
            sorted({k.email for k in keys if k.email})))
    children: dict[ParentKey, list[str]] = {}
    for st in sorted(students, key=lambda st: st.name):
        children.setdefault(parent_of(st), []).append(st.name)
    parents: dict[uuid.UUID, tuple[queries.SheetParent, list[str]]] = {}
    for key, p in by_key.items():
        parents.setdefault(p.user_id, (p, []))[1].extend(children.get(key, []))
    student_users = {st.user_id for st in students if st.user_id is not None}
    user_ids = list(student_users) + [u for u in parents if u not in student_users]
    codes: dict[uuid.UUID, users_client.Code] = {}
    for i in range(0, len(user_ids), SHEET_BATCH):
        for code in await users_client.take_activation_codes(res, principal.zone_id, org,
                                                             user_ids[i:i + SHEET_BATCH], principal.user_id):
            codes[code.user_id] = code
    if not codes:
        raise AppError(410, "roster_provision.sheet_taken", "no activation code of this import is waiting: the sheet "
                                                            "was downloaded already (codes are shown once) or nothing "
                                                            "was provisioned; provision with reissue=true for new codes")
    rows = [SheetRow("student", st.name, st.grade, st.class_name, None, codes[st.user_id].login_id,
                     codes[st.user_id].code, codes[st.user_id].expires_at)
            for st in sorted(students, key=lambda st: (st.grade, st.class_name or "", st.name))
            if st.user_id in codes]
    rows += [SheetRow("parent", p.name, None, None, ", ".join(sorted(kids)), codes[p.user_id].login_id,
                      codes[p.user_id].code, codes[p.user_id].expires_at)
             for p, kids in sorted(parents.values(), key=lambda pk: (pk[0].name, str(pk[0].user_id)))
             if p.user_id in codes and p.user_id not in student_users]
    return rows


def app_origin(zone_id: int, host: str | None) -> str:
    """`https://app.<domain>` of the caller's zone, for the activation links: the domain the
    request came in on when it is the zone's (a zone may have several), else its first one."""
    reg = registry()
    route = reg.resolve_host(host)
    if route is not None and route.zone.id == zone_id:
        return f"https://app.{route.host.removeprefix(route.prefix + '.')}"
    try:
        return f"https://app.{reg.zone_by_id(zone_id).domains[0]}"
    except KeyError:
        raise AppError(503, "roster_provision.zone_unknown", f"zone {zone_id} is not in this service's zone "
                                                             "registry; retry after the registry is updated") from None
